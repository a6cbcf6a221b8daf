"""The `dialled` decision's detail: the contact's local times, read once a minute per zone
list (the dial path builds one for every call)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.dialer import windows as windows_module
from gateway.dialer.windows import CallingWindows
from gateway.domain.model import Campaign
from gateway.domain.model import CampaignStatus as S
from gateway.domain.window import DailyWindow

CAMPAIGN = Campaign(
    pk=1, id="c1", tenant_id=1, name="x", status=S.RUNNING, agent_id="ivr",
    phone_number_id="main", max_concurrent_calls=5, retries_per_contact=0,
    retry_delay_seconds=300, max_calls_per_second=None, ring_timeout_seconds=30,
    timezone="UTC", window_start=None, window_end=None, scheduled_at=None,
    created_at="", started_at=None, completed_at=None, created_by="",
    custom_field_names=[], zone_sets=[("America/Chicago", "America/Denver")],
)  # fmt: skip


def test_the_detail_names_the_local_times_of_its_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[Any] = []
    real = windows_module.local_times

    def counted(zones: Any, moment: datetime) -> str:
        reads.append(zones)
        return real(zones, moment)

    monkeypatch.setattr(windows_module, "local_times", counted)
    windows = CallingWindows(DailyWindow.between("08:00", "21:00"))
    at = datetime(2026, 12, 2, 20, 3, 5, tzinfo=UTC)
    first = windows.dialled_detail(CAMPAIGN, 0, 1, at)
    assert first == ("attempt 1; inside 08:00-21:00 at 14:03 America/Chicago, 13:03 America/Denver")
    # Same minute, another attempt: same local times, its own attempt number.
    same = windows.dialled_detail(CAMPAIGN, 0, 2, at.replace(second=59))
    assert same == first.replace("attempt 1", "attempt 2")
    assert len(reads) == 1  # the local times were worked out once for both
    # The next minute reads the clock again; another zone list has its own times.
    later = windows.dialled_detail(CAMPAIGN, 0, 1, at.replace(minute=4, second=0))
    assert "14:04 America/Chicago, 13:04 America/Denver" in later
    assert windows.dialled_detail(CAMPAIGN, None, 1, at).endswith("at 20:03 UTC")
    assert len(reads) == 3
