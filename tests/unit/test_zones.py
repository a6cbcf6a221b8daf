"""A contact's zones: its timezone column, else libphonenumber's for its number; and the
retry_on field."""

from __future__ import annotations

import pytest

from gateway.domain.contacts import parse_retry_on
from gateway.domain.csvimport import CsvContacts, CsvError
from gateway.domain.settings import Choices, FieldError, validate
from gateway.domain.zones import UnknownZone, check_zone, zones_for_number
from gateway.timeutil import utcnow


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        ("+12085550100", ("America/Boise", "America/Los_Angeles")),
        ("+12125550100", ("America/New_York",)),
        ("+33612345678", ("Europe/Paris",)),
        ("+447700900123", ()),  # libphonenumber says Etc/Unknown: the campaign's zone
    ],
)
def test_zones_of_a_number(number: str, zones: tuple[str, ...]) -> None:
    assert zones_for_number(number) == zones


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("Europe/Paris", "Europe/Paris"),
        (" UTC ", "UTC"),
        ("Etc/Unknown", None),  # no zone: the campaign's timezone, like a number with none
        (" Etc/Unknown", None),
        ("etc/unknown", UnknownZone),  # names are written as the tz database does
        ("Etc/Nowhere", UnknownZone),
        ("", UnknownZone),
    ],
)
def test_check_zone(value: str, zone: str | type | None) -> None:
    if zone is UnknownZone:
        with pytest.raises(UnknownZone):
            check_zone(value)
    else:
        assert check_zone(value) == zone


def rows(data: str) -> tuple[list, CsvContacts]:
    parser = CsvContacts("US")
    found = parser.feed(data.encode()) + parser.finish()
    return found, parser


def test_the_timezone_column_sets_the_zone_else_the_number_does() -> None:
    found, parser = rows(
        "phone_number,timezone\n"
        "+12085550100,\n"  # empty: the number's zones
        "+12125550101,Europe/Paris\n"
        "+12125550102,Europe/Paris\n"
        "+80012345673,\n"  # neither (international freephone): None, the campaign's zone
        "+12125550103,Etc/Unknown\n"  # said unknown: None, the campaign's zone
        "+12125550104, Etc/Unknown \n"  # stripped like any other value
    )
    zones = [parser.zone_sets[r[3]] if r[3] is not None else None for r in found]
    assert zones == [
        ("America/Boise", "America/Los_Angeles"),
        ("Europe/Paris",),
        ("Europe/Paris",),
        None,
        None,
        None,
    ]
    assert len(parser.zone_sets) == 2  # each distinct list once
    assert parser.custom_field_names == ["timezone"]
    assert found[1][2] == ("Europe/Paris",)  # and the column stays a custom field


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus", "../../etc/passwd", "etc/unknown", "right/UTC", "posix/Europe/Paris",
     "localtime", "Factory", "EST5EDT "],
)  # fmt: skip
def test_an_unknown_zone_names_its_row(name: str) -> None:
    if name == "EST5EDT ":  # a known zone with a space: accepted, stripped
        found, parser = rows(f"phone_number,timezone\n+12125550100,{name}\n")
        assert parser.zone_sets[found[0][3]] == ("EST5EDT",)
        return
    with pytest.raises(CsvError) as caught:
        rows(f"phone_number,timezone\n+12125550100,Europe/Paris\n+12125550101,{name}\n")
    assert caught.value.row == 3
    assert "unknown IANA time zone" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busy,no_answer", {"busy", "no_answer"}),
        (" congestion , failed ", {"congestion", "failed"}),
        ("", set()),
    ],
)
def test_retry_on(text: str, expected: set[str]) -> None:
    assert parse_retry_on(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("busy,invalid_number", "'invalid_number' is never retried"),
        ("lost", "'lost' is never retried"),
        ("do_not_call", "'do_not_call' is never retried"),
        ("rejected", "'rejected' is never retried"),
        ("bsy", "unknown outcome 'bsy'"),
    ],
)
def test_retry_on_refused(text: str, message: str) -> None:
    choices = Choices(frozenset({"a"}), frozenset({"p"}), "a", "p")
    with pytest.raises(FieldError) as caught:
        validate({"name": "x", "retry_on": text}, choices, utcnow())
    assert caught.value.field == "retry_on"
    assert message in str(caught.value)
