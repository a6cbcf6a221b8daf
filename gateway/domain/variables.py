"""Channel variables made from tenant data: their names, and their size on the AMI wire.

A CSV column reaches the dialplan only as ``CF_<safe name>``. The prefix is the gateway's
own, so no column can name a variable Asterisk acts on (``TRANSFER_CONTEXT``,
``MOHCLASS``...), the operator's dialplan settings (``CAMPAIGN_MAX_CALL_SECONDS``) or the
gateway's own variables (``CAMPAIGN_ID``...), and a column starting with ``_`` does not
become Asterisk's ``_``/``__`` inheritance.
"""

from __future__ import annotations

import re

CUSTOM_PREFIX = "CF_"
# The AMI adapter's VARIABLE_NAME: [A-Za-z_][A-Za-z0-9_]{0,63}, so 64 characters at most.
MAX_VARIABLE_NAME = 64
_MAX_CUSTOM_PART = MAX_VARIABLE_NAME - len(CUSTOM_PREFIX)  # 61

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")

# Asterisk 22 reads each `Variable:` header with man_do_variable_value() (main/manager.c),
# which splits it into name=value pairs with AST_STANDARD_APP_ARGS, i.e.
# __ast_app_separate_args(buf, ',', remove_chars=1) (main/app.c): a comma outside quotes,
# parentheses or brackets ends the pair, double quotes are removed, and a backslash is
# removed and makes the next character literal (not parsed, not removed). So a value is
# sent exactly by putting a backslash before each of  \ " , ( ) [ ]  -- it arrives on the
# channel unchanged. One header per variable keeps one pair per header.
_ESCAPED = '\\",()[]'
_VALUE_ESCAPES = str.maketrans({c: "\\" + c for c in _ESCAPED})


def escape_variable_value(value: str) -> str:
    """Escape a channel variable value for one ``Variable: NAME=value`` header."""
    return value.translate(_VALUE_ESCAPES)


def custom_variable(column: str) -> str:
    """The channel variable a CSV column becomes: ``CF_`` and letters, digits and ``_``
    (anything else becomes ``_``), cut to 64 characters. Never starts with ``_``."""
    return CUSTOM_PREFIX + _UNSAFE.sub("_", column.strip())[:_MAX_CUSTOM_PART]
