"""Zones chosen from the real clock, for tests of calling windows: where is it 03:00 now?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def zone_at(local_hour: int, now: datetime | None = None) -> str:
    """An IANA zone (Etc/GMT±N) where the local hour is `local_hour` now."""
    now = now or datetime.now(UTC)
    offset = (local_hour - now.hour) % 24
    if offset > 14:
        offset -= 24
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs are inverted


def next_local(zone: str, hour: int, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    opening = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if opening <= local:
        opening += timedelta(days=1)
    return opening.astimezone(UTC)
