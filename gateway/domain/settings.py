"""Validation of a campaign's form fields: reference fields with the reference ranges and
defaults, plus the gateway's own pacing, ring timeout and calling window."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.domain.contacts import RETRYABLE, parse_retry_on
from gateway.domain.zones import is_known_zone

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class FieldError(ValueError):
    """A form field is missing or out of range; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    default: int


# The reference platform's fields and ranges, then the gateway's own.
MAX_CONCURRENT_CALLS = IntRange(1, 100, 5)
RETRIES_PER_CONTACT = IntRange(0, 5, 0)
RETRY_DELAY_SECONDS = IntRange(60, 7 * 86400, 300)
RING_TIMEOUT_SECONDS = IntRange(5, 300, 30)
MAX_CALLS_PER_SECOND = (0.01, 1000.0)

FORM_FIELDS = frozenset(
    {
        "name",
        "agent_id",
        "phone_number_id",
        "max_concurrent_calls",
        "retries_per_contact",
        "retry_delay_seconds",
        "scheduled_at",
        "max_calls_per_second",
        "ring_timeout_seconds",
        "timezone",
        "calling_window_start",
        "calling_window_end",
        "retry_on",
        "amd",
        "machine_agent_id",
    }
)


@dataclass(frozen=True)
class CampaignSettings:
    name: str
    agent_id: str
    phone_number_id: str
    max_concurrent_calls: int
    retries_per_contact: int
    retry_delay_seconds: int
    scheduled_at: str | None  # RFC 3339, normalised to UTC
    max_calls_per_second: float | None
    ring_timeout_seconds: int
    timezone: str
    window_start: str | None
    window_end: str | None
    retry_on: frozenset[str] = RETRYABLE
    amd: bool = False  # answering-machine detection (the `gateway-amd` context)
    machine_agent_id: str | None = None  # where machines go; None: hung up on


@dataclass(frozen=True)
class Choices:
    """What the administrator configured: tenants pick agents and numbers by id only."""

    agents: frozenset[str]
    phone_numbers: frozenset[str]
    default_agent: str | None
    default_phone_number: str | None
    default_timezone: str = "UTC"


def _text(form: Mapping[str, str], field: str, max_len: int = 200) -> str | None:
    value = form.get(field)
    if value is None:
        return None
    value = value.strip()
    if _CONTROL.search(value):
        raise FieldError(field, "must not contain control characters")
    if len(value) > max_len:
        raise FieldError(field, f"must be at most {max_len} characters")
    return value or None


def _int(form: Mapping[str, str], field: str, rng: IntRange) -> int:
    raw = _text(form, field, 20)
    if raw is None:
        return rng.default
    try:
        value = int(raw)
    except ValueError:
        raise FieldError(field, f"must be an integer from {rng.low} to {rng.high}") from None
    if not rng.low <= value <= rng.high:
        raise FieldError(field, f"must be an integer from {rng.low} to {rng.high}, not {value}")
    return value


def _choice(value: str | None, field: str, allowed: frozenset[str], default: str | None) -> str:
    if value is None:
        if default is None:
            raise FieldError(field, "is required (no default is configured)")
        return default
    if value not in allowed:
        known = ", ".join(sorted(allowed)) or "none"
        raise FieldError(field, f"unknown {field} {value!r} (configured: {known})")
    return value


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset (Z or +hh:mm)."""
    if not _RFC3339.match(value):
        raise ValueError("not an RFC 3339 timestamp with a time zone offset")
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate(form: Mapping[str, str], choices: Choices, now: datetime) -> CampaignSettings:
    unknown = sorted(set(form) - FORM_FIELDS)
    if unknown:
        raise FieldError(unknown[0], "unknown field")
    name = _text(form, "name")
    if name is None:
        raise FieldError("name", "is required")
    agent = _choice(_text(form, "agent_id"), "agent_id", choices.agents, choices.default_agent)
    number = _choice(
        _text(form, "phone_number_id"),
        "phone_number_id",
        choices.phone_numbers,
        choices.default_phone_number,
    )

    scheduled_at = None
    raw = _text(form, "scheduled_at", 64)
    if raw is not None:
        try:
            moment = parse_rfc3339(raw)
        except ValueError as exc:
            raise FieldError("scheduled_at", f"{exc}: {raw!r}") from None
        if moment < now:
            raise FieldError("scheduled_at", "is in the past")
        scheduled_at = format_time(moment)

    cps = None
    raw = _text(form, "max_calls_per_second", 20)
    if raw is not None:
        low, high = MAX_CALLS_PER_SECOND
        try:
            cps = float(raw)
        except ValueError:
            cps = float("nan")
        if not low <= cps <= high:  # also false for NaN
            raise FieldError("max_calls_per_second", f"must be a number from {low} to {high}")

    timezone = _text(form, "timezone", 64) or choices.default_timezone
    if not is_known_zone(timezone):
        raise FieldError("timezone", f"unknown IANA time zone {timezone!r}")

    start = _text(form, "calling_window_start", 5)
    end = _text(form, "calling_window_end", 5)
    for field, value in (("calling_window_start", start), ("calling_window_end", end)):
        if value is not None and not _HHMM.match(value):
            raise FieldError(field, "must be a local time HH:MM (00:00 to 23:59)")
    if (start is None) != (end is None):
        missing = "calling_window_end" if end is None else "calling_window_start"
        raise FieldError(missing, "calling_window_start and calling_window_end go together")
    if start is not None and start == end:
        raise FieldError("calling_window_end", "must differ from calling_window_start")

    retry_on = RETRYABLE
    raw = form.get("retry_on")
    if raw is not None:
        if len(raw) > 200 or _CONTROL.search(raw):
            raise FieldError("retry_on", "must be a comma-separated list of outcomes")
        try:
            retry_on = parse_retry_on(raw)
        except ValueError as exc:
            raise FieldError("retry_on", str(exc)) from None

    amd_raw = _text(form, "amd", 10)
    if "amd" in form and amd_raw not in ("off", "on"):  # given empty is no answer either
        raise FieldError("amd", f"must be off or on, not {amd_raw or ''!r}")
    machine_agent = _text(form, "machine_agent_id")
    if machine_agent is not None:
        machine_agent = _choice(machine_agent, "machine_agent_id", choices.agents, None)

    return CampaignSettings(
        name=name,
        agent_id=agent,
        phone_number_id=number,
        max_concurrent_calls=_int(form, "max_concurrent_calls", MAX_CONCURRENT_CALLS),
        retries_per_contact=_int(form, "retries_per_contact", RETRIES_PER_CONTACT),
        retry_delay_seconds=_int(form, "retry_delay_seconds", RETRY_DELAY_SECONDS),
        scheduled_at=scheduled_at,
        max_calls_per_second=cps,
        ring_timeout_seconds=_int(form, "ring_timeout_seconds", RING_TIMEOUT_SECONDS),
        timezone=timezone,
        window_start=start,
        window_end=end,
        retry_on=retry_on,
        amd=amd_raw == "on",
        machine_agent_id=machine_agent,
    )
