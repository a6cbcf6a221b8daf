"""A contact's time zones: its CSV `timezone` column, else its number's, else none (the
campaign's own timezone applies then). A `timezone` value of `Etc/Unknown` (libphonenumber's
"no zone known") says the same as none: the campaign's timezone.

The number's zones are libphonenumber's (`phonenumbers.timezone.time_zones_for_number`):
a geographic number (fixed line, and mobile where mobiles are geographic) by its longest
known prefix, any other by its country code. +1 208 gives Boise and Los Angeles.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Sequence

import phonenumbers
from phonenumbers import PhoneNumberType, is_number_type_geographical
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

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


NO_ZONE = UNKNOWN_TIMEZONE  # "Etc/Unknown", as written: a timezone value meaning "none"


def check_zone(name: str) -> str | None:
    """The zone a `timezone` value names, stripped; None for `Etc/Unknown` (no zone: the
    campaign's timezone applies, as for a number with no zone). UnknownZone otherwise."""
    name = name.strip()
    if name == NO_ZONE:
        return None
    if not is_known_zone(name):
        raise UnknownZone(f"unknown IANA time zone {name[:64]!r} in the timezone column")
    return name


def column_zones(value: str) -> Zones | None:
    """The zones a stored `timezone` value gives: `(zone,)`, `()` for `Etc/Unknown` (the
    campaign's), or None when it gives none (empty, or not a zone: stored before the
    column was checked), so the number's zones apply."""
    if not value.strip():
        return None
    try:
        zone = check_zone(value)
    except UnknownZone:
        return None
    return () if zone is None else (zone,)


def usable(zones: Sequence[str]) -> Zones:
    """The zones the window can be evaluated in, sorted: unknown ones dropped."""
    return tuple(sorted({z for z in zones if z != UNKNOWN_TIMEZONE and is_known_zone(z)}))


# Geographical whatever the country (is_number_type_geographical says so first).
_GEOGRAPHICAL = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_USABLE: dict[tuple[str, ...], Zones] = {}  # a few hundred distinct lists in the data
# Lengths of the prefixes in the data, longest first, by first digit: a prefix of another
# length cannot be found, so looking it up is skipped (the answer stays the same).
_PREFIX_LENGTHS = {
    digit: sorted(
        {len(p) for p in TIMEZONE_DATA if p[0] == digit and len(p) <= TIMEZONE_LONGEST_PREFIX},
        reverse=True,
    )
    for digit in "0123456789"
}


def zones_for(e164: str, country_code: int, kind: int) -> Zones:
    """zones_for_number() for a number phone.classify() has read: its E.164 form, country
    code and type. time_zones_for_number transcribed, less the parse and the type."""
    if kind == PhoneNumberType.UNKNOWN:
        found: tuple[str, ...] = (UNKNOWN_TIMEZONE,)
    elif kind not in _GEOGRAPHICAL and not is_number_type_geographical(kind, country_code):
        found = _country_level(country_code)
    else:
        found = _geographical(e164)
    zones = _USABLE.get(found)
    if zones is None:
        zones = _USABLE[found] = usable(found)
    return zones


def _geographical(e164: str) -> tuple[str, ...]:
    """time_zones_for_geographical_number: the zones of the longest prefix of the digits
    in TIMEZONE_DATA (up to its longest prefix), trying only lengths the data has. The
    answer depends on the first few digits alone, so it is kept by them."""
    digits = e164[1:]
    if not digits:
        return (UNKNOWN_TIMEZONE,)
    lengths = _PREFIX_LENGTHS[digits[0]]
    key = digits[: lengths[0]] if lengths else ""
    found = _BY_PREFIX.get(key)
    if found is None:
        found = (UNKNOWN_TIMEZONE,)
        for length in lengths:
            if length <= len(key):
                zones = TIMEZONE_DATA.get(key[:length])
                if zones is not None:
                    found = zones
                    break
        if len(_BY_PREFIX) >= 65536:
            _BY_PREFIX.clear()
        _BY_PREFIX[key] = found
    return found


_BY_PREFIX: dict[str, tuple[str, ...]] = {}


@functools.cache
def _country_level(country_code: int) -> tuple[str, ...]:
    """_country_level_time_zones_for_number, as written there."""
    code = str(country_code)
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        prefix = code[: (1 + length)]
        if prefix in TIMEZONE_DATA:
            return TIMEZONE_DATA[prefix]
    return (UNKNOWN_TIMEZONE,)


@functools.lru_cache(maxsize=65536)
def zones_for_number(e164: str) -> Zones:
    """libphonenumber's zones for a number, without the unknown ones (may be empty)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    return usable(time_zones_for_number(number))
