"""What the AMI client reports: its errors, its connection's state, and texts safe to show
(an action with its secret masked; an error without the peer's address)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class AmiError(Exception):
    """Base of the client's errors."""


class AmiNotConnected(AmiError):
    """Not logged in: the action was not sent."""


class AmiDisconnected(AmiError):
    """The connection ended after the action was written: it may have reached Asterisk."""


class AmiActionTimeout(AmiError):
    """No response in time. The action was written and may have reached Asterisk."""


@dataclass(frozen=True)
class AmiState:
    """The connection's health. `reconnects` counts connection attempts after the first."""

    connected: bool = False
    logged_in: bool = False
    last_error: str = ""
    reconnects: int = 0


def redact(action: Mapping[str, str | Sequence[str]]) -> dict[str, str | Sequence[str]]:
    """A copy of `action` safe to log: the Secret (and any Key) is masked."""
    return {k: "***" if k.lower() in _SECRET_HEADERS else v for k, v in action.items()}


_SECRET_HEADERS = frozenset({"secret", "key"})


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, TimeoutError):
        return "timed out connecting to AMI"
    if isinstance(exc, OSError) and exc.errno:
        # The class of error only: asyncio's text names the peer's address, and this
        # text is shown on the unauthenticated /readyz (the log lines carry host and port).
        return f"{type(exc).__name__}: {os.strerror(exc.errno)}"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, AmiError) else f"{type(exc).__name__}: {text}"
