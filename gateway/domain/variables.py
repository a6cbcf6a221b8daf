"""Channel variables made from tenant data: their names, and their size on the AMI wire.

A CSV column reaches the dialplan only as ``CF_<safe name>``. The prefix is the gateway's
own, so no column can name a variable Asterisk acts on (``TRANSFER_CONTEXT``,
``MOHCLASS``...), the operator's dialplan settings (``CAMPAIGN_MAX_CALL_SECONDS``) or the
gateway's own variables (``CAMPAIGN_ID``...), and a column starting with ``_`` does not
become Asterisk's ``_``/``__`` inheritance.

Each variable travels as one ``Variable: NAME=value`` header line of the Originate, and
Asterisk drops a line that does not fit its 1024-byte input buffer, so a value's limit is
counted in bytes of that line, after escaping, as the AMI adapter writes it.
"""

from __future__ import annotations

import re

CUSTOM_PREFIX = "CF_"
# The AMI adapter's VARIABLE_NAME: [A-Za-z_][A-Za-z0-9_]{0,63}, so 64 characters at most.
MAX_VARIABLE_NAME = 64
_MAX_CUSTOM_PART = MAX_VARIABLE_NAME - len(CUSTOM_PREFIX)  # 61

# The whole `Variable: NAME=<escaped value>` line, CRLF included. Asterisk finds a line
# only within the first 1024 bytes of its session buffer (manager.c get_input; the AMI
# encoder's MAX_LINE_BYTES): 1000 keeps 24 bytes of margin for an off-by-one in that
# reading of manager.c or a future Asterisk, and is a round figure an operator can check.
MAX_VARIABLE_LINE_BYTES = 1000
_LINE_OVERHEAD = len("Variable: ") + len("=") + len("\r\n")

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


def variable_line_bytes(name: str, value: str) -> int:
    """Bytes of ``Variable: name=<escaped value>`` and its CRLF on the AMI wire."""
    escaped = escape_variable_value(value)
    size = len(escaped) if escaped.isascii() else len(escaped.encode())
    return _LINE_OVERHEAD + len(name) + size


def value_budget(name: str) -> int:
    """The most bytes an escaped value of variable `name` may take on the wire."""
    return MAX_VARIABLE_LINE_BYTES - _LINE_OVERHEAD - len(name)
