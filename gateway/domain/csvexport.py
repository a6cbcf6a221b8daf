"""The columns and cells of a campaign's contacts exported as CSV (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The gateway's own columns, first (later additions at their end, so a column keeps its
# position); the campaign's custom fields follow in upload order.
COLUMNS: tuple[str, ...] = (
    "phone_number",
    "status",
    "outcome",
    "hangup_cause",
    "hangup_cause_text",
    "sip_code",
    "attempts",
    "talk_seconds",
    "next_attempt_at",
    "timezones",
    "opted_out",
    "updated_at",
    "row_number",
    "contact_id",
    "answered_by",
    "amd_cause",
    "node",
)
# Spreadsheets run a cell that starts with one of these as a formula ("CSV injection"):
# = + - @, their full-width and small forms (some locales take those too), a tab or a
# line break; also after leading blanks.
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b")
# What may stand before it unseen: every character str.isspace() takes but the tab and
# line breaks above (a test checks this list against it), and the zero-width ones.
_BLANK = frozenset(
    "\x0b\x0c\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"
)


def header(custom_field_names: Iterable[str]) -> list[str]:
    """Our columns, then the custom fields; a custom field named like one of ours (a CSV
    column `status`, say) is written as `custom_<name>` so no two columns share a name;
    a name a spreadsheet would run as a formula is quoted like any uploaded value."""
    names = list(COLUMNS)
    taken = set(names)
    for name in custom_field_names:
        column = text_cell(name)  # a header cell is uploaded text too
        while column in taken:
            column = "custom_" + column
        taken.add(column)
        names.append(column)
    return names


def text_cell(value: str) -> str:
    """An uploaded value, as text a spreadsheet shows and never evaluates."""
    for char in value:
        if char not in _BLANK:
            return "'" + value if char in _FORMULA_START else value
    return value


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _text(value: str | None) -> str:
    return "" if value is None else text_cell(value)


def row(contact: Mapping[str, Any], custom_field_names: Iterable[str]) -> list[str]:
    """One contact (as the API's contact JSON) as CSV cells, in `header` order."""
    fields = contact["custom_fields"]
    return [
        contact["phone_number"],
        contact["status"],
        _cell(contact["last_outcome"]),
        _cell(contact["hangup_cause"]),
        _text(contact["hangup_cause_text"]),  # Asterisk's or ours today: guarded all the same
        _cell(contact["sip_code"]),
        str(contact["attempts"]),
        _cell(contact["talk_seconds"]),
        _cell(contact["next_attempt_at"]),
        " ".join(contact.get("timezones") or ()),
        "true" if contact.get("opted_out") else "false",
        _cell(contact["updated_at"]),
        str(contact["row_number"]),
        str(contact["id"]),
        _cell(contact.get("answered_by")),
        _text(contact.get("amd_cause")),  # from Asterisk: guarded like uploaded text
        _text(contact.get("node")),
        *(text_cell(fields.get(name, "")) for name in custom_field_names),
    ]
