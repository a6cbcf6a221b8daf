from datetime import UTC, datetime

import pytest

from gateway.domain.contacts import Outcome, settle
from gateway.domain.model import ContactStatus as C
from gateway.domain.pacing import TokenBucket, window_open


def test_bucket_never_exceeds_rate_with_burst_one() -> None:
    bucket = TokenBucket(rate=5, burst=1, now=0.0)
    taken = []
    now = 0.0
    while now < 10.0:
        if bucket.available(now):
            bucket.take(now)
            taken.append(now)
        now = round(now + 0.01, 2)
    assert 49 <= len(taken) <= 50  # 5/s for 10 s (float rounding may lose the last)
    for i, t in enumerate(taken):  # any 1-second window holds at most 5
        assert sum(1 for u in taken[i:] if u < t + 1.0) <= 5


def test_bucket_wait() -> None:
    bucket = TokenBucket(rate=2, now=0.0)
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.5)
    assert bucket.wait(0.5) == 0.0


@pytest.mark.parametrize(
    ("utc", "start", "end", "open_"),
    [
        ("2026-06-01T13:00:00", "09:00", "17:00", True),  # 09:00 in New York (EDT)
        ("2026-06-01T12:59:00", "09:00", "17:00", False),
        ("2026-06-01T21:00:00", "09:00", "17:00", False),  # 17:00 local: end excluded
        ("2026-06-02T02:00:00", "21:00", "08:00", True),  # 22:00 local, wraps midnight
        ("2026-06-01T16:00:00", "21:00", "08:00", False),
        ("2026-06-01T16:00:00", None, None, True),
    ],
)
def test_window_in_the_campaign_time_zone(utc: str, start: str, end: str, open_: bool) -> None:
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert window_open(now, "America/New_York", start, end) is open_


@pytest.mark.parametrize(
    ("answered", "cause", "tech", "made", "retries", "to", "outcome"),
    [
        (True, 16, "", 1, 0, C.COMPLETED, Outcome.ANSWERED),
        (True, 0, "", 1, 0, C.COMPLETED, Outcome.ANSWERED),  # BYE without a Reason header
        (False, 17, "486", 1, 1, C.PENDING, Outcome.BUSY),
        (False, 17, "486", 2, 1, C.FAILED, Outcome.BUSY),
        (False, 1, "404", 1, 3, C.FAILED, Outcome.INVALID_NUMBER),
        (False, 21, "603", 1, 3, C.FAILED, Outcome.REJECTED),
    ],
)
def test_settle(answered, cause, tech, made, retries, to, outcome) -> None:  # type: ignore[no-untyped-def]
    result = settle(answered, 100.0, 103.5, cause, tech, None, made, retries, 60)
    assert (result.contact_to, result.outcome) == (to, outcome)
    assert result.talk_seconds == (3.5 if answered else None)
    assert result.next_attempt_at == (163.5 if to is C.PENDING else 0.0)


def test_lost_calls_are_never_redialled() -> None:
    lost = settle(False, None, 10.0, None, "", None, 1, 5, 60, lost=True)
    assert (lost.contact_to, lost.outcome) == (C.FAILED, Outcome.LOST)
    gone = settle(True, 5.0, 10.0, None, "", None, 1, 5, 60, lost=True)
    assert gone.contact_to is C.COMPLETED and gone.talk_seconds is None
