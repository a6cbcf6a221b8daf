"""A contact's time zones: its CSV `timezone` column, else its number's, else none (the
campaign's own timezone applies then).

The number's zones are libphonenumber's (`phonenumbers.timezone.time_zones_for_number`):
a geographic number (fixed line, and mobile where mobiles are geographic) by its longest
known prefix, any other by its country code. +1 208 gives Boise and Los Angeles.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Sequence

import phonenumbers
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number

Zones = tuple[str, ...]


class UnknownZone(ValueError):
    pass


# In the tz database but no place's civil time: `right/` zones count leap seconds (their
# clock runs ~27 s behind), `posix/` ones duplicate the rest, `localtime` is the host's.
_NOT_CIVIL = ("right/", "posix/")
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def _available() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if not name.startswith(_NOT_CIVIL) and name not in _NOT_ZONES
    )


def is_known_zone(name: str) -> bool:
    """An IANA zone name of the host's tz database ("Europe/Paris", "UTC")."""
    return name in _available()


def check_zone(name: str) -> str:
    name = name.strip()
    if not is_known_zone(name):
        raise UnknownZone(f"unknown IANA time zone {name[:64]!r} in the timezone column")
    return name


def usable(zones: Sequence[str]) -> Zones:
    """The zones the window can be evaluated in, sorted: unknown ones dropped."""
    return tuple(sorted({z for z in zones if z != UNKNOWN_TIMEZONE and is_known_zone(z)}))


@functools.lru_cache(maxsize=65536)
def zones_for_number(e164: str) -> Zones:
    """libphonenumber's zones for a number, without the unknown ones (may be empty)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    return usable(time_zones_for_number(number))
