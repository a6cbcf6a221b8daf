"""When a contact may be called: its daily calling window, in each of its time zones.

The window is the overlap of the campaign's calling window and the operator's calling
hours, both daily wall-clock intervals [start, end) where end < start wraps midnight. It
applies in each of the contact's zones: the contact may be dialled only while the window
is open in all of them. Everything is decided from the wall clock at the moment asked,
so DST changes are exact: a window that starts at 02:30 on the night the clock jumps from
02:00 to 03:00 opens at the jump, and one that ends at 01:30 on the night the hour repeats
closes at the first 01:30 and opens again for the second half hour of the repeat.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = 24 * 60
HORIZON = timedelta(days=8)  # how far ahead the next change is looked for
_SAMPLE = timedelta(hours=6)  # DST transitions are months apart: one in 6 h at most
_HHMM_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class DailyWindow:
    """Minutes of the day when calls may be made: sorted, disjoint [start, end) intervals
    within 0..1440."""

    intervals: tuple[tuple[int, int], ...]

    @classmethod
    def between(cls, start: str | None, end: str | None) -> DailyWindow:
        """From HH:MM bounds; no bounds: always open. end < start wraps midnight."""
        if start is None or end is None:
            return ALWAYS
        low, high = _minutes(start), _minutes(end)
        if low == high:
            return ALWAYS
        if low < high:
            return cls(((low, high),))
        return cls(tuple(i for i in ((0, high), (low, DAY)) if i[0] < i[1]))

    @classmethod
    def parse(cls, text: str) -> DailyWindow:
        """ "08:00-21:00"; the empty string is always open. ValueError otherwise."""
        text = text.strip()
        if not text:
            return ALWAYS
        match = _HHMM_RANGE.match(text)
        if not match:
            raise ValueError(f"not a daily window HH:MM-HH:MM: {text!r}")
        start, end = text.split("-")
        if start == end:
            raise ValueError(f"a daily window needs two different times: {text!r}")
        return cls.between(start, end)

    @property
    def always(self) -> bool:
        return self.intervals == ((0, DAY),)

    def contains(self, minute: int) -> bool:
        return any(low <= minute < high for low, high in self.intervals)

    def overlap(self, other: DailyWindow) -> DailyWindow:
        found = []
        for a_low, a_high in self.intervals:
            for b_low, b_high in other.intervals:
                low, high = max(a_low, b_low), min(a_high, b_high)
                if low < high:
                    found.append((low, high))
        return DailyWindow(tuple(sorted(found)))

    @property
    def boundaries(self) -> tuple[int, ...]:
        return tuple(sorted({m for interval in self.intervals for m in interval}))

    def __str__(self) -> str:
        spans = list(self.intervals)
        if not spans:
            return "never"
        if self.always:
            return "00:00-24:00"
        if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == DAY:  # wraps midnight
            first, last = spans.pop(0), spans.pop()
            spans.append((last[0], first[1]))
        return ", ".join(f"{_hhmm(low)}-{_hhmm(high % DAY)}" for low, high in spans)


ALWAYS = DailyWindow(((0, DAY),))


@dataclass(frozen=True)
class WindowState:
    """Whether a contact may be called now, and until when that holds."""

    open: bool
    until: datetime  # the next change (a close if open, an open if closed), or the horizon
    closed_in: tuple[str, ...] = ()  # the zones whose window is closed now
    changes: bool = True  # False: no change within the horizon (look again at `until`)


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _is_open(window: DailyWindow, tz: ZoneInfo, moment: datetime) -> bool:
    local = moment.astimezone(tz)
    return window.contains(local.hour * 60 + local.minute)


def _transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end] where the zone's UTC offset changes (to the second)."""
    found = []
    moment, offset = start, start.astimezone(tz).utcoffset()
    while moment < end:
        later = min(moment + _SAMPLE, end)
        later_offset = later.astimezone(tz).utcoffset()
        if later_offset != offset:
            low, high = moment, later  # offset(low) is the old one, offset(high) the new
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment, offset = later, later_offset
    return found


def _crossings(window: DailyWindow, tz: ZoneInfo, start: datetime, end: datetime) -> set[datetime]:
    """Every instant in [start, end] where the wall clock shows one of the window's
    boundaries (twice in a repeated hour; never in a skipped one: the jump is a
    transition)."""
    found = set()
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    day = first
    while day <= last:
        for minute in window.boundaries:
            wall_day = day + timedelta(days=minute // DAY)
            wall = time((minute % DAY) // 60, minute % 60)
            for fold in (0, 1):
                local = datetime.combine(wall_day, wall, tz).replace(fold=fold)
                moment = local.astimezone(UTC)
                back = moment.astimezone(tz)
                if (back.date(), back.time()) == (wall_day, wall) and start <= moment <= end:
                    found.add(moment)
        day += timedelta(days=1)
    return found


def window_state(
    zones: Sequence[str], window: DailyWindow, now: datetime, horizon: timedelta = HORIZON
) -> WindowState:
    """Open now in every zone? And when that next changes."""
    now = now.astimezone(UTC)
    tzs = [(name, zone(name)) for name in zones]
    closed = tuple(name for name, tz in tzs if not _is_open(window, tz, now))
    is_open = not closed
    if window.always:
        return WindowState(True, now + horizon, changes=False)
    end = now + horizon
    candidates: set[datetime] = set()
    for _, tz in tzs:
        candidates.update(_crossings(window, tz, now, end))
        candidates.update(_transitions(tz, now, end))
    for moment in sorted(c for c in candidates if c > now):
        if all(_is_open(window, tz, moment) for _, tz in tzs) != is_open:
            return WindowState(is_open, moment, closed)
    return WindowState(is_open, end, closed, changes=False)


def local_times(zones: Sequence[str], moment: datetime) -> str:
    """ "14:03 America/Chicago, 13:03 America/Denver": for a decision's detail."""
    return ", ".join(f"{moment.astimezone(zone(name)):%H:%M} {name}" for name in zones)
