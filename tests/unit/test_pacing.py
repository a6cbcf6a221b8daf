from datetime import UTC, datetime

import pytest

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
