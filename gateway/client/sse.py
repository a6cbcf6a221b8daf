"""Server-Sent Events as the client reads them: `Event`, and `SSEParser` that makes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event: `id` is set on stored (replayable) events only."""

    id: int | None
    event: str
    data: dict[str, Any]


class SSEParser:
    """text/event-stream, line by line (WHATWG rules: `id` without data still counts)."""

    def __init__(self) -> None:
        self.last_id: int | None = None
        self._id: int | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        """Take one line (without its end of line); return an event when one completes."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment: the heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and value.isdigit():
            self._id = int(value)
        return None

    def _dispatch(self) -> Event | None:
        event_id, self._id = self._id, None
        if event_id is not None:
            self.last_id = event_id
        name, self._event = self._event or "message", ""
        if not self._data:
            return None
        text, self._data = "\n".join(self._data), []
        try:
            data = json.loads(text)
        except ValueError:
            data = {"text": text}
        return Event(event_id, name, data if isinstance(data, dict) else {"value": data})
