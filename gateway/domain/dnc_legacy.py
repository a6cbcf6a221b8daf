"""Do-not-call entries the number reader no longer reads.

An older version of the number reader may have listed a number the current one refuses
(`+11551234567`: no such +1 number today). Such an entry still bars nobody it should not,
but its owner (the tenant, or the operator for the host list) must be able to find and
remove it. When a number given to remove or look up cannot be read, and it is written as
`+` and 6 to 15 digits (spaces, dashes, dots and parentheses aside), the stored text is
looked for exactly as that. When it can be read, the text as given is removed as well as
the number read from it: the upgrade that re-read the lists (issue 12) kept each old form
(`+3750152450911`) beside its re-read one (`+375152450911`), and only its exact text
reaches the old row.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[ \-.()]")
_E164_LIKE = re.compile(r"\+[0-9]{6,15}")


def stored_text(raw: str) -> str | None:
    """The text an older reader would have stored for `raw`, or None if it is not `+`
    and 6-15 digits once spaces, dashes, dots and parentheses are removed."""
    text = _SEPARATORS.sub("", raw)
    return text if _E164_LIKE.fullmatch(text) else None


def also_stored(raw: str, number: str) -> tuple[str, ...]:
    """Beside `number` (what `raw` reads as), the exact text an older reader may have
    listed for `raw`, if that differs: a removal takes both."""
    text = stored_text(raw)
    return (text,) if text is not None and text != number else ()
