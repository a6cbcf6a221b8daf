# ruff: noqa: E501 (a document: descriptions read better unwrapped)
"""The do-not-call part of the OpenAPI document (merged by gateway/http/openapi.py, whose
helpers it is handed so the two parts cannot describe errors differently)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.domain.dnc import FILE_FIELD, JSON_FIELD, MAX_REASON

_STR = {"type": "string"}
_REASON = {
    "type": "string",
    "maxLength": MAX_REASON,
    "description": "Why the numbers are listed (no control characters); default empty.",
}
_NUMBER = {
    "name": "phone_number",
    "in": "path",
    "required": True,
    "schema": _STR,
    "description": "The number, in any writing a contact may use; normalised to E.164. A value that is not a number is not listed (404, saying why), except that `+` and 6-15 digits (spaces, dashes, dots, parentheses aside) removes that exact text: an entry an older number reader listed.",
}

ENTRY = {
    "type": "object",
    "required": ["phone_number", "reason", "created_at"],
    "properties": {
        "phone_number": {"type": "string", "description": "E.164"},
        "reason": _STR,
        "created_at": {"type": "string", "format": "date-time"},
    },
}

_ADD_JSON = {
    "type": "object",
    "required": [JSON_FIELD],
    "properties": {
        JSON_FIELD: {
            "type": "array",
            "minItems": 1,
            "items": _STR,
            "description": "Numbers as contacts may write them; a 400 names the row (1-based position) of a bad one.",
        },
        "reason": _REASON,
    },
}

_ADD_FORM = {
    "type": "object",
    "required": [FILE_FIELD],
    "properties": {
        FILE_FIELD: {
            "type": "string",
            "format": "binary",
            "description": "CSV, UTF-8, a header with a `phone_number` column (other columns are ignored); rows are lines of the file, the header is row 1. Streamed: as large as the configured upload limit.",
        },
        "reason": _REASON,
    },
}

_ADDED = {
    "type": "object",
    "required": ["added", "already"],
    "properties": {
        "added": {"type": "integer", "description": "Numbers new to the list."},
        "already": {
            "type": "integer",
            "description": "Numbers already listed, or given more than once.",
        },
    },
}


def paths(
    op: Callable[..., dict[str, Any]],
    json_: Callable[..., dict[str, Any]],
    paging: list[dict[str, Any]],
    storage: tuple[str, ...],
) -> dict[str, Any]:
    entry_ref = {"$ref": "#/components/schemas/DncNumber"}
    return {
        "/api/v1/dnc": {
            "get": op(
                "The tenant's do-not-call list, by phone number (the host's list is not shown)",
                json_(
                    "200",
                    {
                        "type": "object",
                        "required": ["numbers", "total"],
                        "properties": {
                            "numbers": {"type": "array", "items": entry_ref},
                            "total": {"type": "integer"},
                        },
                    },
                ),
                "400",
                parameters=[
                    *paging,
                    {
                        "name": "phone_number",
                        "in": "query",
                        "schema": _STR,
                        "description": "Look up one number (normalised): `numbers` has it, or is empty. A literal `+` stays the number's plus (`?phone_number=+442079460958`; `%2B` works too), not a space. A value that is not a number is a 400, except `+` and 6-15 digits, looked up as that exact text (an entry an older number reader listed).",
                    },
                ],
            ),
            "post": op(
                "Add numbers to the tenant's do-not-call list: all of them, or none on a 400. A JSON object sent as `text/plain`, `application/x-www-form-urlencoded` (what `curl -d` sends) or without a Content-Type is read as JSON too",
                json_("200", _ADDED),
                "400",
                "429",  # over the tenant's max_uploads_per_tenant uploads at once (CSV or JSON)
                *storage,
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ADD_JSON},
                        "multipart/form-data": {"schema": _ADD_FORM},
                    },
                },
            ),
        },
        "/api/v1/dnc/{phone_number}": {
            "delete": op(
                "Remove a number from the tenant's do-not-call list",
                {"204": {"description": "Removed"}},
                "404",
                *storage,
                parameters=[_NUMBER],
            ),
        },
    }
