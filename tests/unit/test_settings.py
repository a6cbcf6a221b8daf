"""Form validation: reference ranges and defaults, the gateway's own fields, clear errors."""

from datetime import UTC, datetime

import pytest

from gateway.domain.settings import Choices, FieldError, validate

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CHOICES = Choices(
    agents=frozenset({"ivr", "queue"}),
    phone_numbers=frozenset({"main"}),
    default_agent="ivr",
    default_phone_number="main",
    default_timezone="Europe/London",
)


def test_defaults_follow_the_reference() -> None:
    settings = validate({"name": "x"}, CHOICES, NOW)
    assert settings.max_concurrent_calls == 5
    assert settings.retries_per_contact == 0
    assert settings.retry_delay_seconds == 300
    assert settings.scheduled_at is None
    assert settings.agent_id == "ivr" and settings.phone_number_id == "main"
    assert settings.timezone == "Europe/London"
    assert settings.ring_timeout_seconds == 30
    assert settings.max_calls_per_second is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_concurrent_calls", "0"),
        ("max_concurrent_calls", "101"),
        ("max_concurrent_calls", "five"),
        ("max_concurrent_calls", "2.5"),
        ("retries_per_contact", "-1"),
        ("retries_per_contact", "6"),
        ("retry_delay_seconds", "59"),
        ("scheduled_at", "2026-05-31T12:00:00Z"),  # in the past
        ("scheduled_at", "tomorrow"),
        ("scheduled_at", "2026-07-01T12:00:00"),  # no offset: ambiguous
        ("agent_id", "nope"),
        ("phone_number_id", "nope"),
        ("max_calls_per_second", "0"),
        ("max_calls_per_second", "nan"),
        ("max_calls_per_second", "1e9"),
        ("ring_timeout_seconds", "1"),
        ("timezone", "Mars/Olympus"),
        ("calling_window_start", "25:00"),
        ("calling_window_start", "09:00"),  # without an end
        ("name", "bad\nname"),
        ("name", "x" * 201),
        ("colour", "blue"),  # unknown field: a typo must not pass silently
    ],
)
def test_bad_field_is_named(field: str, value: str) -> None:
    form = {"name": "x", field: value}
    with pytest.raises(FieldError) as error:
        validate(form, CHOICES, NOW)
    assert error.value.field in (field, "calling_window_end")
    assert str(error.value).startswith(error.value.field + ":")


def test_name_required() -> None:
    with pytest.raises(FieldError, match="name: is required"):
        validate({}, CHOICES, NOW)


def test_no_default_agent_makes_it_required() -> None:
    choices = Choices(frozenset({"ivr"}), frozenset({"main"}), None, "main")
    with pytest.raises(FieldError, match="agent_id: is required"):
        validate({"name": "x"}, choices, NOW)


def test_full_form() -> None:
    settings = validate(
        {
            "name": " Spring promo ",
            "agent_id": "queue",
            "max_concurrent_calls": "100",
            "retries_per_contact": "5",
            "retry_delay_seconds": "60",
            "scheduled_at": "2026-06-02T09:00:00+02:00",
            "max_calls_per_second": "2.5",
            "ring_timeout_seconds": "45",
            "timezone": "America/New_York",
            "calling_window_start": "21:00",
            "calling_window_end": "08:00",
        },
        CHOICES,
        NOW,
    )
    assert settings.name == "Spring promo"
    assert settings.scheduled_at == "2026-06-02T07:00:00.000Z"
    assert settings.max_calls_per_second == 2.5
    assert (settings.window_start, settings.window_end) == ("21:00", "08:00")
