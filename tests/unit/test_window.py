"""The calling-window rules as tables: overlaps, wraps, zones, DST (gateway.domain.window)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.domain.window import ALWAYS, DailyWindow, window_state

HOURS = DailyWindow.parse("08:00-21:00")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("campaign", "hours", "expected"),
    [
        (("09:00", "17:00"), "08:00-21:00", "09:00-17:00"),
        (("07:00", "22:00"), "08:00-21:00", "08:00-21:00"),  # no campaign widens the hours
        (("20:00", "09:00"), "08:00-21:00", "08:00-09:00, 20:00-21:00"),  # wraps midnight
        (("22:00", "07:00"), "08:00-21:00", "never"),
        ((None, None), "08:00-21:00", "08:00-21:00"),
        (("21:00", "08:00"), "", "21:00-08:00"),  # hours off: the campaign's, still wrapping
        ((None, None), "", "00:00-24:00"),
    ],
)
def test_the_window_used_is_the_overlap(campaign: tuple, hours: str, expected: str) -> None:
    assert str(DailyWindow.between(*campaign).overlap(DailyWindow.parse(hours))) == expected


@pytest.mark.parametrize("text", ["8-21", "08:00", "25:00-26:00", "08:00-08:00", "08:60-09:00"])
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        DailyWindow.parse(text)


@pytest.mark.parametrize(
    ("zones", "window", "now", "is_open", "until", "closed_in"),
    [
        # 2026-12-02 01:00Z is 19:00 in Chicago (CST): open until 21:00 local.
        (["America/Chicago"], HOURS, "2026-12-02T01:00", True, "2026-12-02T03:00", ()),
        # 03:00 in Chicago: closed until 08:00 local.
        (["America/Chicago"], HOURS, "2026-12-02T09:00", False, "2026-12-02T14:00",
         ("America/Chicago",)),
        # +1 208: Boise (MST) and Los Angeles (PST). At 15:30Z it is 08:30 in Boise and
        # 07:30 in LA: closed until LA's 08:00; then open until Boise's 21:00.
        (["America/Boise", "America/Los_Angeles"], HOURS, "2026-12-02T15:30", False,
         "2026-12-02T16:00", ("America/Los_Angeles",)),
        (["America/Boise", "America/Los_Angeles"], HOURS, "2026-12-02T16:00", True,
         "2026-12-03T04:00", ()),
        # A window that wraps midnight: 21:00-08:00 in Tokyo (UTC+9).
        (["Asia/Tokyo"], DailyWindow.parse("21:00-08:00"), "2026-12-02T13:00", True,
         "2026-12-02T23:00", ()),
        (["Asia/Tokyo"], DailyWindow.parse("21:00-08:00"), "2026-12-02T23:00", False,
         "2026-12-03T12:00", ("Asia/Tokyo",)),
        # Spring forward in New York (2027-03-14 02:00 EST -> 03:00 EDT): a window opening
        # at 02:30, a time that does not exist that night, opens at the jump.
        (["America/New_York"], DailyWindow.parse("02:30-05:00"), "2027-03-14T05:00", False,
         "2027-03-14T07:00", ("America/New_York",)),
        # ... and 08:00 the next day is 12:00Z, no longer 13:00Z.
        (["America/New_York"], HOURS, "2027-03-14T02:00", False, "2027-03-14T12:00",
         ("America/New_York",)),
        # Fall back (2026-11-01 02:00 EDT -> 01:00 EST): a window ending at 01:30 closes at
        # the first 01:30 and is open again for the repeated hour's first half.
        (["America/New_York"], DailyWindow.parse("21:00-01:30"), "2026-11-01T05:00", True,
         "2026-11-01T05:30", ()),
        (["America/New_York"], DailyWindow.parse("21:00-01:30"), "2026-11-01T05:30", False,
         "2026-11-01T06:00", ("America/New_York",)),
        (["America/New_York"], DailyWindow.parse("21:00-01:30"), "2026-11-01T06:00", True,
         "2026-11-01T06:30", ()),
        # London and Sydney share no hour of 08:00-21:00 in December... only 08:00-10:00
        # in London is 19:00-21:00 in Sydney (UTC+11).
        (["Europe/London", "Australia/Sydney"], HOURS, "2026-12-02T07:00", False,
         "2026-12-02T08:00", ("Europe/London",)),
        (["Europe/London", "Australia/Sydney"], HOURS, "2026-12-02T08:00", True,
         "2026-12-02T10:00", ()),
    ],
)  # fmt: skip
def test_window_state(zones, window, now, is_open, until, closed_in) -> None:  # type: ignore[no-untyped-def]
    state = window_state(zones, window, utc(now))
    assert (state.open, state.until, state.closed_in) == (is_open, utc(until), closed_in)
    assert state.changes


def test_zones_with_no_common_hour_stay_closed_and_look_again_later() -> None:
    # Tokyo (UTC+9) and New York (UTC-5) have no common hour inside 09:00-10:00.
    state = window_state(["Asia/Tokyo", "America/New_York"], DailyWindow.parse("09:00-10:00"),
                         utc("2026-12-02T00:00"))  # fmt: skip
    assert not state.open and not state.changes
    assert state.until == utc("2026-12-10T00:00")  # the horizon: 8 days


def test_no_window_is_always_open() -> None:
    state = window_state(["Europe/Paris"], ALWAYS, utc("2026-12-02T03:00"))
    assert state.open and not state.changes
