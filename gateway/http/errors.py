"""Every error leaves as JSON {"error": "..."} with the right status."""

from __future__ import annotations

import json

import structlog
from aiohttp import web

from gateway.domain.csvimport import CsvError
from gateway.domain.lifecycle import Refused
from gateway.domain.settings import FieldError
from gateway.http.uploadslots import TooManyUploads
from gateway.service import NotFound
from gateway.store.database import StorageUnavailable

log = structlog.get_logger(__name__)


def error_response(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class BadRequest(Exception):
    """Malformed request (not a form, bad query parameter): 400 with this message."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@web.middleware
async def errors_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except FieldError as exc:
        return error_response(400, str(exc), field=exc.field)
    except CsvError as exc:
        return error_response(400, f"contacts: {exc}", field="contacts", row=exc.row)
    except BadRequest as exc:
        extra = {"field": exc.field} if exc.field else {}
        return error_response(400, str(exc), **extra)
    except NotFound as exc:
        return error_response(404, str(exc))
    except Refused as exc:
        return error_response(409, str(exc))
    except TooManyUploads as exc:
        return error_response(429, str(exc))
    except StorageUnavailable as exc:  # reads still answer; this write changed nothing
        log.warning("write refused: storage unavailable", path=request.path, error=str(exc))
        if exc.full:
            return error_response(
                507, "the gateway's storage is full: nothing was changed; try again later"
            )
        return error_response(
            503, "the gateway's storage cannot take writes now: nothing was changed; try again"
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = exc.text if exc.content_type == "application/json" else None
        message = json.loads(body)["error"] if body else exc.reason
        response = error_response(exc.status, message)
        for name in ("WWW-Authenticate", "Allow"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unhandled error", path=request.path)
        return error_response(500, "internal server error")
