"""The client's errors: `GatewayError` and one subclass per kind of failure."""

from __future__ import annotations

import json
from typing import Any


class GatewayError(Exception):
    """An API call failed. `status` is the HTTP status (None when no response came)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message if status is None else f"{status}: {message}")
        self.message = message
        self.status = status
        self.body = body if isinstance(body, dict) else {}


class GatewayConnectionError(GatewayError):
    """The gateway could not be reached, or the connection broke."""


class BadRequestError(GatewayError):
    """400: `field` names the offending form field or parameter, `row` the CSV row."""

    @property
    def field(self) -> str | None:
        return self.body.get("field")

    @property
    def row(self) -> int | None:
        return self.body.get("row")


class AuthenticationError(GatewayError):
    """401: missing, wrong or revoked API key."""


class NotFoundError(GatewayError):
    """404: no such campaign (or it belongs to another tenant)."""


class ConflictError(GatewayError):
    """409: not allowed in the campaign's current state, or over the tenant's budget."""


class ServerError(GatewayError):
    """5xx."""


_BY_STATUS: dict[int, type[GatewayError]] = {400: BadRequestError, 401: AuthenticationError}
_BY_STATUS.update({404: NotFoundError, 409: ConflictError})


def error_for(status: int, raw: bytes, reason: str = "") -> GatewayError:
    """The typed exception for an error response (body `{"error": ...}` when JSON)."""
    try:
        body = json.loads(raw)
        message = str(body["error"])
    except (ValueError, TypeError, KeyError):
        body, message = None, raw.decode("utf-8", "replace").strip()[:500] or reason
    kind = ServerError if status >= 500 else _BY_STATUS.get(status, GatewayError)
    return kind(message or f"HTTP {status}", status, body)
