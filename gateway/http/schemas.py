"""JSON schemas of the API's bodies, for the OpenAPI document (gateway.http.openapi)."""

from __future__ import annotations

from typing import Any

from gateway.domain import settings as s
from gateway.domain.contacts import NEVER_RETRIED, RETRY_ORDER, RETRYABLE, Outcome
from gateway.domain.model import CONTACT_STATUSES, CampaignStatus

ERR = {"$ref": "#/components/responses/Error"}
STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
ID = {"name": "id", "in": "path", "required": True, "schema": STR}
PAGING = [
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
    "properties": {name: INT for name in ("total", *CONTACT_STATUSES)},
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
        "id": STR,
        "name": STR,
        "status": {
            "type": "string",
            "enum": [c.value for c in CampaignStatus if c is not CampaignStatus.IMPORTING],
        },
        "agent_id": STR,
        "phone_number_id": STR,
        "max_concurrent_calls": INT,
        "retries_per_contact": INT,
        "retry_delay_seconds": INT,
        "scheduled_at": TIME,
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": TIME,
        "completed_at": TIME,
        "created_by": STR,
        "max_calls_per_second": {"type": ["number", "null"]},
        "ring_timeout_seconds": INT,
        "timezone": STR,
        "calling_window_start": NSTR,
        "calling_window_end": NSTR,
        "retry_on": {
            "type": "array",
            "items": {"type": "string", "enum": list(RETRY_ORDER)},
            "description": "Outcomes retried (while attempts are left).",
        },
        "amd": {
            "type": "string",
            "enum": ["off", "on"],
            "description": "Answering-machine detection: `on` sends the calls through Asterisk's AMD() (the gateway-amd context) before the agent.",
        },
        "machine_agent_id": {
            "type": ["string", "null"],
            "description": "The configured agent that takes calls answered by a machine; null: a machine is hung up on (contact failed, outcome machine).",
        },
        "custom_field_names": {"type": "array", "items": STR},
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
        "id": INT,
        "campaign_id": STR,
        "phone_number": {"type": "string", "description": "E.164"},
        "status": {"type": "string", "enum": list(CONTACT_STATUSES)},
        "custom_fields": {"type": "object", "additionalProperties": STR},
        "attempts": INT,
        "last_outcome": {
            "type": ["string", "null"],
            "enum": [None, *(o.value for o in Outcome)],
        },
        "hangup_cause": NINT,
        "hangup_cause_text": NSTR,
        "sip_code": NSTR,
        "talk_seconds": {"type": ["number", "null"]},
        "next_attempt_at": TIME,
        "timezones": {
            "type": "array",
            "items": STR,
            "description": "IANA zones its calling window is evaluated in: its CSV `timezone`, else its number's, else the campaign's. It is dialled only while the window is open in all of them.",
        },
        "opted_out": {
            "type": "boolean",
            "description": "It asked during a call not to be called again (added to the tenant's do-not-call list).",
        },
        "answered_by": {
            "type": ["string", "null"],
            "enum": [None, "human", "machine", "unknown"],
            "description": "Who answered its last attempt, per answering-machine detection (AMDSTATUS HUMAN, MACHINE; NOTSURE, HANGUP or no verdict: unknown). Null when AMD is off or the call was not answered.",
        },
        "amd_cause": {
            "type": ["string", "null"],
            "description": "AMDCAUSE as Asterisk gave it, e.g. HUMAN-800-800, LONGGREETING-1500-1500. Null when AMD is off, the call was not answered, or Asterisk gave no cause (HANGUP, or no verdict).",
        },
        "node": {
            "type": ["string", "null"],
            "description": "The Asterisk node its latest attempt was sent to ([[asterisk_nodes]] id; `default` for the one-node [ami] configuration). Null before its first attempt.",
        },
        "row_number": INT,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": TIME,
    },
}

CREATE_FORM = {
    "type": "object",
    "required": ["name", "contacts"],
    "properties": {
        "contacts": {
            "type": "string",
            "format": "binary",
            "description": "CSV, UTF-8, header with a `phone_number` column; other columns become custom_fields, handed to the dialplan as channel variables `CF_<name>` only (name: letters, digits and _, at most 61 characters); each value at most 1000 bytes on its AMI `Variable:` line (UTF-8, after escaping). An optional `timezone` column (an IANA name, e.g. `America/Chicago`) sets the contact's zone for its calling window (empty: the number's zones; `Etc/Unknown`: the campaign's `timezone`; an unknown name is a 400 naming the row); it also stays a custom field.",
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
        "retry_on": {
            "type": "string",
            "description": f"Comma-separated outcomes to retry, from {', '.join(RETRY_ORDER)}; default {', '.join(o for o in RETRY_ORDER if o in RETRYABLE)} (a machine is retried only when named). {', '.join(sorted(o.value for o in NEVER_RETRIED))} are never retried.",
        },
        "amd": {
            "type": "string",
            "enum": ["off", "on"],
            "default": "off",
            "description": "Gateway extension: answering-machine detection. `on`: each answered call first goes through Asterisk's AMD() (a few seconds of listening before a person hears the agent); a person (or an unsure verdict) goes to the agent, a machine to machine_agent_id or is hung up on.",
        },
        "machine_agent_id": {
            "type": "string",
            "description": "Gateway extension: a configured agent for calls answered by a machine (e.g. one that leaves a message). Omitted: a machine is hung up on.",
        },
        "calling_window_end": {
            "type": "string",
            "pattern": "^([01]\\d|2[0-3]):[0-5]\\d$",
            "description": "Gateway extension: daily local end time HH:MM (may be before start: the window wraps midnight).",
        },
    },
}


ATTEMPT = {
    "type": "object",
    "properties": {
        "number": INT,
        "started_at": TIME,
        "ended_at": TIME,
        "outcome": NSTR,
        "hangup_cause": NINT,
        "sip_code": NSTR,
        "talk_seconds": {"type": ["number", "null"]},
        "node": {
            "type": ["string", "null"],
            "description": "The Asterisk node the attempt was sent to.",
        },
        "answered_by": {
            "type": ["string", "null"],
            "enum": [None, "human", "machine", "unknown"],
            "description": "Who answered this attempt, per answering-machine detection (as the contact's answered_by). Null when AMD was off or the call was not answered.",
        },
        "amd_cause": {
            "type": ["string", "null"],
            "description": "This attempt's AMDCAUSE as Asterisk gave it; null when AMD was off, the call was not answered, or Asterisk gave no cause (HANGUP).",
        },
    },
}

DECISION = {
    "type": "object",
    "required": ["time", "decision", "detail"],
    "properties": {
        "time": {"type": "string", "format": "date-time"},
        "decision": {
            "type": "string",
            "enum": [
                "dialled",
                "deferred_window",
                "skipped_dnc",
                "retry_scheduled",
                "not_retried",
                "cancelled",
            ],
        },
        "detail": STR,
    },
}

CONTACT_DETAIL: dict[str, Any] = {
    "type": "object",
    "required": [*CONTACT["required"], "decisions"],
    "properties": {
        **CONTACT["properties"],
        "attempts": {"type": "array", "items": ATTEMPT},
        "attempts_made": INT,
        "decisions": {
            "type": "array",
            "items": DECISION,
            "description": "Why it was dialled, deferred, skipped, retried or not; oldest first (the newest 1000).",
        },
    },
}
