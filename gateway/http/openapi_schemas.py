"""The schemas and building blocks of the OpenAPI document (gateway.http.openapi), built
from the same constants the server validates with, so ranges and defaults cannot drift."""

from __future__ import annotations

from typing import Any

from gateway.domain import settings as s
from gateway.domain.model import CONTACT_STATUSES, CampaignStatus

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
