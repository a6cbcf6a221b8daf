from datetime import UTC, datetime

import pytest

from gateway.domain.pacing import TokenBucket
from gateway.domain.window import DailyWindow, window_state


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
    window = DailyWindow.between(start, end)
    assert window_state(["America/New_York"], window, now).open is open_


def test_calls_go_out_no_closer_than_every_bucket_allows() -> None:
    from gateway.domain.capacity import Capacity, NodeLimits
    from gateway.domain.model import Campaign, CampaignStatus, Tenant

    def campaign_of(cid: str, cps: float | None) -> Campaign:
        return Campaign(
            pk=1, id=cid, tenant_id=1, name=cid, status=CampaignStatus.RUNNING,
            agent_id="a", phone_number_id="p", max_concurrent_calls=5,
            retries_per_contact=0, retry_delay_seconds=300, max_calls_per_second=cps,
            ring_timeout_seconds=30, timezone="UTC", window_start=None, window_end=None,
            scheduled_at=None, created_at="", started_at=None, completed_at=None,
            created_by="acme",
        )  # fmt: skip

    capacity = Capacity([NodeLimits("n", 10, 10.0)], now=0.0)
    tenant = Tenant(1, "acme", 10, 4.0)
    fast, slow = campaign_of("a", None), campaign_of("b", 2.0)
    # Two calls whose tokens were taken in one round go out 1/rate apart (tenant 4/s).
    assert capacity.write_at(fast, tenant, "n", 10.0) == 10.0
    assert capacity.write_at(fast, tenant, "n", 10.0) == 10.25
    # The 2/s campaign's own bucket spaces its calls 0.5 s apart.
    assert capacity.write_at(slow, tenant, "n", 10.0) == 10.5
    assert capacity.write_at(slow, tenant, "n", 10.6) == 11.0
    # Late enough, nothing waits.
    assert capacity.write_at(fast, tenant, "n", 20.0) == 20.0

    # A send woken late by a busy loop: slots 30.0 and 30.25, but the first really goes
    # out at 30.2. The second, on time at 30.25, must still keep 1/rate after it.
    assert capacity.write_at(fast, tenant, "n", 30.0) == 30.0
    assert capacity.write_at(fast, tenant, "n", 30.0) == 30.25
    assert capacity.wire_wait(fast, tenant, "n", 30.2) <= 0
    capacity.wrote(fast, tenant, "n", 30.2)
    assert capacity.wire_wait(fast, tenant, "n", 30.25) == pytest.approx(0.2)
    assert capacity.wire_wait(fast, tenant, "n", 30.45) <= 0
