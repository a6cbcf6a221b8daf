"""The OpenAPI 3 document of the API, built from the same constants the server validates
with, so ranges and defaults cannot drift. tests/api/test_openapi.py checks it against the
router and against real responses."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import __version__
from gateway.domain.model import CONTACT_STATUSES
from gateway.http import openapi_dnc
from gateway.http import schemas as sc

routes = web.RouteTableDef()

_STATUS = {
    "name": "status",
    "in": "query",
    "schema": {"type": "string", "enum": list(CONTACT_STATUSES)},
}


def _op(summary: str, ok: dict[str, Any], *errors: str, **extra: Any) -> dict[str, Any]:
    responses: dict[str, Any] = dict(ok)
    responses["401"] = sc.ERR
    for code in errors:
        responses[code] = sc.ERR
    return {"summary": summary, "responses": responses, **extra}


def _json(code: str, schema: dict[str, Any], text: str = "OK") -> dict[str, Any]:
    return {code: {"description": text, "content": {"application/json": {"schema": schema}}}}


_CAMPAIGN_REF = {"$ref": "#/components/schemas/Campaign"}


# Every write: 507 when the database's disk is full, 503 when the storage fails otherwise
# (nothing changed either way; reads still answer).
_STORAGE = ("503", "507")


def _command(text: str, *errors: str) -> dict[str, Any]:
    return {
        "post": _op(
            text, _json("200", _CAMPAIGN_REF), "404", *errors, *_STORAGE, parameters=[sc.ID]
        )
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
                                "total": sc.INT,
                            },
                        },
                    ),
                    "400",
                    parameters=sc.PAGING,
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
                                                "rows": sc.INT,
                                                "contacts": sc.INT,
                                                "duplicates": sc.INT,
                                                "duplicate_rows": {
                                                    "type": "array",
                                                    "items": sc.INT,
                                                },
                                                "dnc": {
                                                    "type": "integer",
                                                    "description": "Contacts on a do-not-call list: stored failed (do_not_call), never dialled.",
                                                },
                                            },
                                        }
                                    },
                                },
                            ]
                        },
                        "Created",
                    ),
                    "400",
                    "429",  # over the tenant's max_uploads_per_tenant uploads at once
                    *_STORAGE,
                    requestBody={
                        "required": True,
                        "content": {"multipart/form-data": {"schema": sc.CREATE_FORM}},
                    },
                ),
            },
            "/api/v1/campaigns/{id}": {
                "get": _op(
                    "Get a campaign", _json("200", _CAMPAIGN_REF), "404", parameters=[sc.ID]
                ),
                "delete": _op(
                    "Delete a campaign and its contacts",
                    {"204": {"description": "Deleted"}},
                    "404",
                    "409",
                    *_STORAGE,
                    parameters=[sc.ID],
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
                                "total": sc.INT,
                            },
                        },
                    ),
                    "400",
                    "404",
                    parameters=[
                        sc.ID,
                        _STATUS,
                        *sc.PAGING,
                    ],
                ),
            },
            "/api/v1/campaigns/{id}/contacts/{contact_id}": {
                "get": _op(
                    "A contact, its attempts, and the trail of every dial decision",
                    _json("200", {"$ref": "#/components/schemas/ContactDetail"}),
                    "404",
                    parameters=[
                        sc.ID,
                        {"name": "contact_id", "in": "path", "required": True, "schema": sc.INT},
                    ],
                ),
            },
            "/api/v1/campaigns/{id}/contacts.csv": {
                "get": _op(
                    "The campaign's contacts with their outcomes as CSV, streamed: the gateway's columns (phone_number, status, outcome, hangup_cause, hangup_cause_text, sip_code, attempts, talk_seconds, next_attempt_at, timezones (space-separated), opted_out (true/false), updated_at, row_number, contact_id, answered_by (human/machine/unknown, empty without a verdict), amd_cause, node (the Asterisk node of its latest attempt)), then the custom fields (one named like a gateway column is prefixed custom_; a custom value, amd_cause or node starting with = + - @ or a tab is prefixed with ' so spreadsheets never run it). Every contact in id order unless paged",
                    {
                        "200": {
                            "description": "text/csv, UTF-8, CRLF lines, a header line first",
                            "content": {"text/csv": {"schema": sc.STR}},
                        }
                    },
                    "400",
                    "404",
                    parameters=[sc.ID, _STATUS, *sc.PAGING],
                ),
            },
            "/api/v1/options": {
                "get": _op(
                    "The agents and phone numbers a campaign may name (configured by the administrator; ids only)",
                    _json(
                        "200",
                        {
                            "type": "object",
                            "required": ["agents", "phone_numbers"],
                            "properties": {
                                "agents": {"type": "array", "items": sc.STR},
                                "phone_numbers": {"type": "array", "items": sc.STR},
                            },
                        },
                    ),
                ),
            },
            "/api/v1/campaigns/{id}/events": {
                "get": _op(
                    "Live events (Server-Sent Events): `contact` and `campaign` transitions with ids (a contact's carries `node`, the Asterisk node of its attempt, and `answered_by` once answering-machine detection judged the call), `amd` when it does (`answered_by`, `amd_cause`), `opt_out` with an id when a called party opts out during the call (`campaign_id`, `contact_id`, `phone_number` (E.164, now on the tenant's do-not-call list), `time`), `metrics` every 2 s while running (with `calls_by_node`: its calls in flight on each Asterisk node, `machine_rate`: the share of judged calls answered by a machine, and `waiting_for_window`: its pending contacts whose calling window is closed now), `: heartbeat` every 15 s, `end` when terminal",
                    {
                        "200": {
                            "description": "text/event-stream",
                            "content": {"text/event-stream": {"schema": sc.STR}},
                        }
                    },
                    "400",
                    "404",
                    parameters=[
                        sc.ID,
                        {
                            "name": "Last-Event-ID",
                            "in": "header",
                            "schema": sc.INT,
                            "description": "Replay every stored event after this id.",
                        },
                        {
                            "name": "last_event_id",
                            "in": "query",
                            "schema": sc.INT,
                            "description": "Same as the header, for clients that cannot set it.",
                        },
                        {
                            "name": "history",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                            "description": "Without Last-Event-ID: first replay the campaign's"
                            " last N contact transitions (and every event stored after the"
                            " first of them), then go on live.",
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
            **openapi_dnc.paths(_op, _json, sc.PAGING, _STORAGE),
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
                    "summary": "Readiness: database writable, call events written, at least one Asterisk node logged in and reconciled; `nodes` gives each node's state (ready, connecting, reconciling), calls in flight and cap",
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
            "/": {
                "get": {
                    "summary": "The web dashboard (HTML; it signs in with an API key kept in sessionStorage)",
                    "security": [],
                    "responses": {"200": {"description": "text/html"}},
                }
            },
            "/assets/{version}/{name}": {
                "get": {
                    "summary": "The dashboard's files; cached for a year (the version is a hash of their contents)",
                    "security": [],
                    "parameters": [
                        {"name": "version", "in": "path", "required": True, "schema": sc.STR},
                        {"name": "name", "in": "path", "required": True, "schema": sc.STR},
                    ],
                    "responses": {"200": {"description": "OK"}, "404": sc.ERR},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Campaign": sc.CAMPAIGN,
                "Contact": sc.CONTACT,
                "ContactDetail": sc.CONTACT_DETAIL,
                "DncNumber": openapi_dnc.ENTRY,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": sc.STR, "field": sc.STR, "row": sc.NINT},
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
