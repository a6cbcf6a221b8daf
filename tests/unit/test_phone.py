import pytest

from gateway.domain.phone import InvalidNumber, normalise


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("1-415-555-0100", "US", "+14155550100"),
        ("(415) 555 0100", "US", "+14155550100"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("00 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("07700 900123", "GB", "+447700900123"),
        ("  +33 1 23 45 67 89  ", "US", "+33123456789"),
        ("+1\u00a0415\u00a0555\u00a00100", "US", "+14155550100"),
    ],
)
def test_people_write_numbers_many_ways(raw: str, region: str, e164: str) -> None:
    assert normalise(raw, region) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "+1 415 555 010",
        "12",
        "+999 123456",
        "415-555-0100 x12",
        "+1-800-FLOWERS",
        "４１５５５５０１００",
    ],
)
def test_undialable(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        normalise(raw, "US")
