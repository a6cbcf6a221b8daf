"""The OpenAPI 3 document of the API, built from the same constants the server validates
with, so ranges and defaults cannot drift. tests/api/test_openapi.py checks it against the
router and against real responses."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import __version__
from gateway.domain import settings as s
from gateway.domain.model import CONTACT_STATUSES, CampaignStatus
from gateway.http import openapi_dnc

routes = web.RouteTableDef()

_ERR = {"$ref": "#/components/responses/Error"}
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_INT = {"type": "integer"}
_NINT = {"type": ["integer", "null"]}
_ID = {"name": "id", "in": "path", "required": True, "schema": _STR}
_PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    },
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
    {
        "name": "page",
        "in": "query",
        "description": "Reference paging: 1-based, `limit` (100) a page.",
        "schema": {"type": "integer", "minimum": 1},
    },
]


def _range(rng: s.IntRange, text: str) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": rng.low,
        "maximum": rng.high,
        "default": rng.default,
        "description": text,
    }


_COUNTS = {
    "type": "object",
    "required": ["total", *CONTACT_STATUSES],
    "properties": {name: _INT for name in ("total", *CONTACT_STATUSES)},
}

CAMPAIGN = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "agent_id",
        "phone_number_id",
        "max_concurrent_calls",
        "retries_per_contact",
        "retry_delay_seconds",
        "scheduled_at",
        "created_at",
        "started_at",
        "completed_at",
        "created_by",
        "counts",
    ],
    "properties": {
        "id": _STR,
        "name": _STR,
        "status": {
            "type": "string",
            "enum": [c.value for c in CampaignStatus if c is not CampaignStatus.IMPORTING],
        },
        "agent_id": _STR,
        "phone_number_id": _STR,
        "max_concurrent_calls": _INT,
        "retries_per_contact": _INT,
        "retry_delay_seconds": _INT,
        "scheduled_at": _TIME,
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": _TIME,
        "completed_at": _TIME,
        "created_by": _STR,
        "max_calls_per_second": {"type": ["number", "null"]},
        "ring_timeout_seconds": _INT,
        "timezone": _STR,
        "calling_window_start": _NSTR,
        "calling_window_end": _NSTR,
        "custom_field_names": {"type": "array", "items": _STR},
        "duplicates": {
            "type": "integer",
            "description": "Rows skipped at upload: their number was already in the file.",
        },
        "counts": _COUNTS,
    },
}

CONTACT = {
    "type": "object",
    "required": ["id", "campaign_id", "phone_number", "status", "custom_fields", "attempts"],
    "properties": {
        "id": _INT,
        "campaign_id": _STR,
        "phone_number": {"type": "string", "description": "E.164"},
        "status": {"type": "string", "enum": list(CONTACT_STATUSES)},
        "custom_fields": {"type": "object", "additionalProperties": _STR},
        "attempts": _INT,
        "last_outcome": {
            "type": ["string", "null"],
            "enum": [
                None,
                "answered",
                "busy",
                "no_answer",
                "rejected",
                "invalid_number",
                "congestion",
                "failed",
                "lost",
            ],
        },
        "hangup_cause": _NINT,
        "hangup_cause_text": _NSTR,
        "sip_code": _NSTR,
        "talk_seconds": {"type": ["number", "null"]},
        "next_attempt_at": _TIME,
        "row_number": _INT,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": _TIME,
    },
}

CREATE_FORM = {
    "type": "object",
    "required": ["name", "contacts"],
    "properties": {
        "contacts": {
            "type": "string",
            "format": "binary",
            "description": "CSV, UTF-8, header with a `phone_number` column; other columns become custom_fields, handed to the dialplan as channel variables `CF_<name>` only (name: letters, digits and _, at most 61 characters); each value at most 1000 bytes on its AMI `Variable:` line (UTF-8, after escaping).",
        },
        "name": {"type": "string", "maxLength": 200},
        "agent_id": {
            "type": "string",
            "description": "A configured agent; the configured default when omitted.",
        },
        "phone_number_id": {
            "type": "string",
            "description": "A configured phone number; the configured default when omitted.",
        },
        "max_concurrent_calls": _range(
            s.MAX_CONCURRENT_CALLS, "Calls of this campaign alive at once."
        ),
        "retries_per_contact": _range(
            s.RETRIES_PER_CONTACT, "Extra attempts after a failed one (never for invalid numbers)."
        ),
        "retry_delay_seconds": _range(s.RETRY_DELAY_SECONDS, "Wait before a retry."),
        "scheduled_at": {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with offset; a started campaign waits for it. Not in the past.",
        },
        "max_calls_per_second": {
            "type": "number",
            "minimum": s.MAX_CALLS_PER_SECOND[0],
            "maximum": s.MAX_CALLS_PER_SECOND[1],
            "description": "Gateway extension: this campaign's pace cap (the tenant's cap applies too).",
        },
        "ring_timeout_seconds": _range(
            s.RING_TIMEOUT_SECONDS, "Gateway extension: how long a call may ring."
        ),
        "timezone": {
            "type": "string",
            "description": "Gateway extension: IANA zone of the calling window (default from configuration).",
        },
        "calling_window_start": {
            "type": "string",
            "pattern": "^([01]\\d|2[0-3]):[0-5]\\d$",
            "description": "Gateway extension: daily local start time HH:MM; with calling_window_end.",
        },
        "calling_window_end": {
            "type": "string",
            "pattern": "^([01]\\d|2[0-3]):[0-5]\\d$",
            "description": "Gateway extension: daily local end time HH:MM (may be before start: the window wraps midnight).",
        },
    },
}


def _op(summary: str, ok: dict[str, Any], *errors: str, **extra: Any) -> dict[str, Any]:
    responses: dict[str, Any] = dict(ok)
    responses["401"] = _ERR
    for code in errors:
        responses[code] = _ERR
    return {"summary": summary, "responses": responses, **extra}


def _json(code: str, schema: dict[str, Any], text: str = "OK") -> dict[str, Any]:
    return {code: {"description": text, "content": {"application/json": {"schema": schema}}}}


_CAMPAIGN_REF = {"$ref": "#/components/schemas/Campaign"}


# Every write: 507 when the database's disk is full, 503 when the storage fails otherwise
# (nothing changed either way; reads still answer).
_STORAGE = ("503", "507")


def _command(text: str, *errors: str) -> dict[str, Any]:
    return {
        "post": _op(text, _json("200", _CAMPAIGN_REF), "404", *errors, *_STORAGE, parameters=[_ID])
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Campaign gateway API", "version": __version__},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/campaigns": {
                "get": _op(
                    "List the tenant's campaigns, newest first",
                    _json(
                        "200",
                        {
                            "type": "object",
                            "required": ["campaigns", "total"],
                            "properties": {
                                "campaigns": {"type": "array", "items": _CAMPAIGN_REF},
                                "total": _INT,
                            },
                        },
                    ),
                    "400",
                    parameters=_PAGING,
                ),
                "post": _op(
                    "Create a campaign from a CSV upload (status draft)",
                    _json(
                        "201",
                        {
                            "allOf": [
                                _CAMPAIGN_REF,
                                {
                                    "type": "object",
                                    "properties": {
                                        "import": {
                                            "type": "object",
                                            "properties": {
                                                "rows": _INT,
                                                "contacts": _INT,
                                                "duplicates": _INT,
                                                "duplicate_rows": {"type": "array", "items": _INT},
                                            },
                                        }
                                    },
                                },
                            ]
                        },
                        "Created",
                    ),
                    "400",
                    *_STORAGE,
                    requestBody={
                        "required": True,
                        "content": {"multipart/form-data": {"schema": CREATE_FORM}},
                    },
                ),
            },
            "/api/v1/campaigns/{id}": {
                "get": _op("Get a campaign", _json("200", _CAMPAIGN_REF), "404", parameters=[_ID]),
                "delete": _op(
                    "Delete a campaign and its contacts",
                    {"204": {"description": "Deleted"}},
                    "404",
                    "409",
                    *_STORAGE,
                    parameters=[_ID],
                ),
            },
            "/api/v1/campaigns/{id}/contacts": {
                "get": _op(
                    "List a campaign's contacts",
                    _json(
                        "200",
                        {
                            "type": "object",
                            "required": ["contacts", "total"],
                            "properties": {
                                "contacts": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Contact"},
                                },
                                "total": _INT,
                            },
                        },
                    ),
                    "400",
                    "404",
                    parameters=[
                        _ID,
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": list(CONTACT_STATUSES)},
                        },
                        *_PAGING,
                    ],
                ),
            },
            "/api/v1/campaigns/{id}/events": {
                "get": _op(
                    "Live events (Server-Sent Events): `contact` and `campaign` transitions with ids, `metrics` every 2 s while running, `: heartbeat` every 15 s, `end` when terminal",
                    {
                        "200": {
                            "description": "text/event-stream",
                            "content": {"text/event-stream": {"schema": _STR}},
                        }
                    },
                    "400",
                    "404",
                    parameters=[
                        _ID,
                        {
                            "name": "Last-Event-ID",
                            "in": "header",
                            "schema": _INT,
                            "description": "Replay every stored event after this id.",
                        },
                        {
                            "name": "last_event_id",
                            "in": "query",
                            "schema": _INT,
                            "description": "Same as the header, for clients that cannot set it.",
                        },
                    ],
                ),
            },
            "/api/v1/campaigns/{id}/start": _command(
                "Start (draft or paused → running, or scheduled)", "409"
            ),
            "/api/v1/campaigns/{id}/pause": _command("Pause (running → paused)", "409"),
            "/api/v1/campaigns/{id}/resume": _command("Resume (paused → running)", "409"),
            "/api/v1/campaigns/{id}/stop": _command(
                "Stop (→ stopped; pending contacts cancelled; idempotent)"
            ),
            **openapi_dnc.paths(_op, _json, _PAGING, _STORAGE),
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OK"}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness",
                    "security": [],
                    "responses": {"200": {"description": "OK"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: database writable, call events written, AMI logged in",
                    "security": [],
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "Not ready; the body says why"},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "security": [],
                    "responses": {"200": {"description": "text/plain exposition format"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Campaign": CAMPAIGN,
                "Contact": CONTACT,
                "DncNumber": openapi_dnc.ENTRY,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": _STR, "field": _STR, "row": _NINT},
                },
            },
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }


@routes.get("/api/v1/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())
