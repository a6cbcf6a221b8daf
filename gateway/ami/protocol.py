"""The AMI wire protocol, without any I/O.

An AMI message is a block of ``Key: Value`` lines ended by an empty line. Asterisk ends a
line at CRLF and also at a bare LF, so the parser accepts both. The first line a server
sends is a greeting (``Asterisk Call Manager/x.y.z``) with no blank line after it.

`encode_action` is the only way the gateway writes to AMI, and it refuses anything that
could change the meaning of the action on the wire: a CR or LF in a value would end the
header (and a second one the action, letting data write its own action), a NUL ends the
string inside Asterisk. Asterisk also drops a line longer than its 1024-byte input buffer
and keeps at most 128 headers per action, so both limits are enforced here instead of
letting Asterisk silently act on a truncated action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE_BYTES",
    "AmiParser",
    "AmiProtocolError",
    "HeaderLineTooLong",
    "Message",
    "TooManyHeaders",
    "UnsafeAction",
    "UnsafeHeaderName",
    "UnsafeHeaderValue",
    "encode_action",
]

# Asterisk's session input buffer is 1025 bytes and a line must be found, CRLF included,
# within its first 1024 bytes (manager.c get_input); AST_MAX_MANHEADERS is 128.
MAX_LINE_BYTES = 1024
MAX_HEADERS = 128

# C0 controls, DEL and C1 controls: none may reach an AMI header.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_KEY = re.compile(r"[A-Za-z0-9_-]+")


class UnsafeAction(ValueError):
    """The action cannot be written to AMI as it is. Messages never quote values."""


class UnsafeHeaderName(UnsafeAction):
    """A header name that is empty or has characters other than letters, digits, _ or -."""


class UnsafeHeaderValue(UnsafeAction):
    """A header value with CR, LF, NUL or another control character."""


class HeaderLineTooLong(UnsafeAction):
    """A header line that Asterisk would drop (over MAX_LINE_BYTES with its CRLF)."""


class TooManyHeaders(UnsafeAction):
    """More header lines than Asterisk keeps for one action."""


class AmiProtocolError(Exception):
    """The peer sent something that is not AMI (e.g. an endless line)."""


def encode_action(action: Mapping[str, str | Sequence[str]]) -> bytes:
    """Encode one action. A list or tuple value becomes one header line per item.

    Raises an `UnsafeAction` subclass (a ValueError) instead of writing anything unsafe.
    The error message names the header, never its value (a value may be a secret).
    """
    lines: list[str] = []
    for key, value in action.items():
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise UnsafeHeaderName(f"unsafe AMI header name {key!r}"[:80])
        values: Sequence[str] = (value,) if isinstance(value, str) else value
        for item in values:
            if not isinstance(item, str):
                raise TypeError(f"AMI header {key} must be a str, not {type(item).__name__}")
            if _CONTROL.search(item) is not None:
                raise UnsafeHeaderValue(f"AMI header {key} has a control character")
            line = f"{key}: {item}"
            size = len(line) if line.isascii() else len(line.encode())
            if size + 2 > MAX_LINE_BYTES:
                raise HeaderLineTooLong(f"AMI header {key} is over {MAX_LINE_BYTES} bytes")
            lines.append(line)
    if not lines:
        raise UnsafeAction("empty AMI action")
    if len(lines) > MAX_HEADERS:
        raise TooManyHeaders(f"AMI action has {len(lines)} headers (max {MAX_HEADERS})")
    lines.append("\r\n")
    return "\r\n".join(lines).encode()


class Message(dict[str, str]):
    """One AMI message: the first value of every header, by exact (case-sensitive) name.

    It is a dict, so ``msg.get("Uniqueid")`` is a plain dict lookup. A header repeated in
    the message (e.g. ``ChanVariable``) keeps its first value here; `get_all` returns
    every value in order. `events` holds the events of a completed event list (set by the
    client on the response of an action that answered ``EventList: start``).
    """

    _multi: dict[str, list[str]] | None = None
    events: Sequence[Message] = ()

    @property
    def event(self) -> str | None:
        """The event name, or None for a response."""
        return self.get("Event")

    @property
    def response(self) -> str | None:
        """``Success``, ``Error``, ``Goodbye``..., or None for an event."""
        return self.get("Response")

    @property
    def is_event(self) -> bool:
        return "Event" in self

    @property
    def is_response(self) -> bool:
        return "Response" in self

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def get_all(self, key: str) -> list[str]:
        """Every value of a header, in the order received ([] when absent)."""
        multi = self._multi
        if multi is not None and key in multi:
            return list(multi[key])
        value = self.get(key)
        return [] if value is None else [value]

    def add(self, key: str, value: str) -> None:
        """Add a header value, keeping earlier values of a repeated header."""
        if key not in self:
            self[key] = value
            return
        multi = self._multi
        if multi is None:
            multi = self._multi = {}
        values = multi.get(key)
        if values is None:
            multi[key] = [self[key], value]
        else:
            values.append(value)


class AmiParser:
    """Incremental parser: `feed` bytes as they arrive, get the complete messages back.

    Chunks may split anywhere (inside a line, a CRLF, a UTF-8 sequence). Lines end at LF
    with an optional CR before it; a message ends at an empty line. A line without a colon
    before the first message is the greeting (kept in `greeting`); elsewhere it is ignored.
    Bytes that are not UTF-8 are replaced, never fatal.
    """

    __slots__ = ("_buf", "_current", "_max_line", "greeting")

    def __init__(self, max_line: int = 1 << 20) -> None:
        self._buf = b""
        self._current: Message | None = None
        self._max_line = max_line
        self.greeting: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buf + data if self._buf else data
        end = buf.rfind(b"\n")
        if end < 0:
            if len(buf) > self._max_line:
                raise AmiProtocolError(f"AMI line longer than {self._max_line} bytes")
            self._buf = buf
            return []
        self._buf = buf[end + 1 :]
        # Cutting after a LF never splits a UTF-8 sequence.
        text = buf[: end + 1].decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        lines.pop()  # the empty string after the last LF

        messages: list[Message] = []
        current = self._current
        for line in lines:
            if line:
                key, sep, value = line.partition(":")
                if not sep:
                    if current is None and self.greeting is None:
                        self.greeting = line
                    continue
                if value[:1] == " ":
                    value = value[1:]
                if current is None:
                    current = Message()
                    current[key] = value
                elif key in current:
                    current.add(key, value)
                else:
                    current[key] = value
            elif current is not None:
                messages.append(current)
                current = None
        self._current = current
        return messages
