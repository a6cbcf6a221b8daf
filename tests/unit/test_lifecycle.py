"""The campaign state machine as a table: no event loop, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain import lifecycle
from gateway.domain.lifecycle import Refused
from gateway.domain.model import CampaignStatus as S

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "scheduled_at", "expected"),
    [
        (S.DRAFT, None, S.RUNNING),
        (S.DRAFT, EARLIER, S.RUNNING),
        (S.DRAFT, LATER, S.SCHEDULED),
        (S.PAUSED, None, S.RUNNING),
        (S.PAUSED, LATER, S.RUNNING),  # paused after running: its time has come already
        (S.SCHEDULED, LATER, None),
        (S.RUNNING, None, None),
        (S.STOPPED, None, None),
        (S.COMPLETED, None, None),
    ],
)
def test_start(status: S, scheduled_at: datetime | None, expected: S | None) -> None:
    if expected is None:
        with pytest.raises(Refused, match=status.value):
            lifecycle.start(status, scheduled_at, NOW)
    else:
        transition = lifecycle.start(status, scheduled_at, NOW)
        assert transition.status is expected
        assert transition.set_started_at == (status is S.DRAFT and expected is S.RUNNING)


@pytest.mark.parametrize("status", list(S))
def test_pause_resume_only_from_their_state(status: S) -> None:
    if status is S.RUNNING:
        assert lifecycle.pause(status).status is S.PAUSED
    else:
        with pytest.raises(Refused):
            lifecycle.pause(status)
    if status is S.PAUSED:
        assert lifecycle.resume(status).status is S.RUNNING
    else:
        with pytest.raises(Refused):
            lifecycle.resume(status)


@pytest.mark.parametrize("status", list(S))
def test_stop(status: S) -> None:
    if status is S.IMPORTING:
        with pytest.raises(Refused):
            lifecycle.stop(status)
    elif status.terminal:
        assert lifecycle.stop(status) is None  # idempotent: 200, nothing changes
    else:
        transition = lifecycle.stop(status)
        assert transition is not None
        assert transition.status is S.STOPPED
        assert transition.cancel_pending and transition.set_completed_at


def test_scheduled_campaign_begins_when_its_time_comes() -> None:
    assert lifecycle.begin_scheduled(S.SCHEDULED, LATER, NOW) is None
    begun = lifecycle.begin_scheduled(S.SCHEDULED, EARLIER, NOW)
    assert begun is not None and begun.status is S.RUNNING and begun.set_started_at
    assert lifecycle.begin_scheduled(S.PAUSED, EARLIER, NOW) is None


@pytest.mark.parametrize(
    ("status", "pending", "in_flight", "completes"),
    [
        (S.RUNNING, 0, 0, True),
        (S.PAUSED, 0, 0, True),
        (S.RUNNING, 1, 0, False),
        (S.RUNNING, 0, 1, False),
        (S.DRAFT, 0, 0, False),
        (S.STOPPED, 0, 0, False),
    ],
)
def test_complete_if_done(status: S, pending: int, in_flight: int, completes: bool) -> None:
    result = lifecycle.complete_if_done(status, pending, in_flight)
    assert (result is not None and result.status is S.COMPLETED) == completes


def test_delete_refused_while_running_or_with_calls_in_flight() -> None:
    with pytest.raises(Refused, match="running"):
        lifecycle.check_delete(S.RUNNING, 0)
    with pytest.raises(Refused, match="in flight"):
        lifecycle.check_delete(S.STOPPED, 2)
    lifecycle.check_delete(S.PAUSED, 0)
    lifecycle.check_delete(S.COMPLETED, 0)


@pytest.mark.parametrize(
    ("tenant_max", "in_use", "wanted", "ok"),
    [(10, 0, 10, True), (10, 5, 5, True), (10, 5, 6, False), (10, 10, 1, False)],
)
def test_budget(tenant_max: int, in_use: int, wanted: int, ok: bool) -> None:
    if ok:
        lifecycle.check_budget(tenant_max, in_use, wanted)
    else:
        with pytest.raises(Refused, match="concurrency budget"):
            lifecycle.check_budget(tenant_max, in_use, wanted)
