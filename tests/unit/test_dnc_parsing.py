"""Do-not-call input → E.164: JSON lists and streamed CSV, as tables; errors name the row."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain.dnc import (
    MAX_REASON,
    CsvNumbers,
    DncInputError,
    normalise_number,
    numbers_from_json,
    parse_reason,
)


def parse(data: bytes, chunk: int = 65536, region: str = "US") -> list[str]:
    parser = CsvNumbers(region)
    numbers: list[str] = []
    for i in range(0, len(data), chunk):
        numbers += parser.feed(data[i : i + chunk])
    numbers += parser.finish()
    assert parser.rows == len(numbers)
    return numbers


QUOTED = (
    b"\xef\xbb\xbfname,Phone_Number,note\r\n"
    b'"Doe, Jane",+1 (415) 555-0100,"say ""no"""\r\n'
    b"\r\n"
    b",,\r\n"
    b"Bob,001 415 555 0101,\r\n"  # dialled from GB
    b"Zo\xc3\xab,020 7946 0000,M\xc3\xbcnchen"  # no final newline; a national GB number
)


@pytest.mark.parametrize(
    ("data", "region", "expected"),
    [
        (QUOTED, "GB", ["+14155550100", "+14155550101", "+442079460000"]),
        (b"phone_number\n+14155550100\n\n  4155550101  \n", "US", ["+14155550100", "+14155550101"]),
        (b"\n\nphone_number\r\n(415) 555-0102\r\n", "US", ["+14155550102"]),  # header not line 1
        (b"phone_number\n+14155550100\n+14155550100\n", "US", ["+14155550100"] * 2),  # repeats kept
        (b'phone_number\n"+1 415 555 0100"\n', "US", ["+14155550100"]),  # quoted, one column
        (b"PHONE_NUMBER , id\n00442079460000,1\n", "DE", ["+442079460000"]),
    ],
)
def test_numbers_in_file_order(data: bytes, region: str, expected: list[str]) -> None:
    assert parse(data, region=region) == expected


@pytest.mark.parametrize("data", [QUOTED, b"phone_number\n+14155550100\n\n4155550101\n+1415"])
def test_every_chunking_gives_the_same_numbers(data: bytes) -> None:
    try:
        expected: Any = parse(data, region="GB")
    except DncInputError as exc:
        expected = (str(exc), exc.row)
    for size in range(1, 12):
        try:
            got: Any = parse(data, chunk=size, region="GB")
        except DncInputError as exc:
            got = (str(exc), exc.row)
        assert got == expected, size


@pytest.mark.parametrize(
    ("data", "row", "message"),
    [
        (b"", None, "the file is empty"),
        (b"\n \n", None, "the file is empty"),
        (b"phone_number\n", None, "a header but no phone numbers"),
        (b"phone_number\n\n,\n", None, "a header but no phone numbers"),
        (b"name,number\nA,+14155550100\n", 1, "no phone_number column (columns: name, number)"),
        (b"\nphone\n", 2, "no phone_number column"),
        (b"phone_number\n+14155550100\n\nbogus\n", 4, "not a dialable phone number: 'bogus'"),
        (b"phone_number\n+1415555\n", 2, "not a valid number"),
        (b"phone_number\n+14155550100,x\n", 2, "2 values but the header has 1 column"),
        (b"a,phone_number\nx,+14155550100\ny\n", 3, "1 values but the header has 2 columns"),
        (b"a,phone_number\nx,bogus\n", 2, "not a dialable"),
        (b"phone_number\n+1415555\x000100\n", 2, "control character '\\x00'"),
        (b"phone_number\n+14155550100\n\x1b[2J\n", 3, "control character '\\x1b'"),
        (b"phone_number\n+14155550100\r\r\n", 2, "control character '\\r'"),
        (b'phone_number\n"+1415\n5550100"\n', 2, "a quoted value spans lines"),
        (b'a,phone_number\nx,"+1415"5550100\n', 2, "malformed CSV"),
        (b"phone_number\n+1415555010\xff\n", 2, "not valid UTF-8"),
        (b"phone_number\n+14155550100\n\xc3", 3, "not valid UTF-8"),
    ],
)
def test_bad_files_name_the_row(data: bytes, row: int | None, message: str) -> None:
    with pytest.raises(DncInputError) as caught:
        parse(data)
    assert caught.value.row == row and caught.value.field == "numbers"
    assert message in str(caught.value)
    prefix = "numbers: " if row is None else f"numbers: row {row}: "
    assert str(caught.value).startswith(prefix)


def test_a_long_line_is_refused_without_a_newline() -> None:
    parser = CsvNumbers("US")
    parser.feed(b"phone_number\n")
    with pytest.raises(DncInputError) as caught:
        for _ in range(5):
            parser.feed(b"1" * 300_000)
    assert caught.value.row == 2 and "longer than" in str(caught.value)


def test_the_field_named_is_the_callers() -> None:
    with pytest.raises(DncInputError, match=r"^list\.csv: row 2: "):
        parse_with(b"phone_number\nx\n", "list.csv")


def parse_with(data: bytes, field: str) -> list[str]:
    parser = CsvNumbers("US", field)
    return parser.feed(data) + parser.finish()


@pytest.mark.parametrize(
    ("body", "numbers", "reason"),
    [
        ({"phone_numbers": ["(415) 555-0100"]}, ["+14155550100"], ""),
        (
            {"phone_numbers": ["+14155550100", "4155550100"], "reason": "  asked  "},
            ["+14155550100", "+14155550100"],
            "asked",
        ),
        ({"phone_numbers": ["+442079460000"], "reason": None}, ["+442079460000"], ""),
        (
            {"phone_numbers": ["+33142685300"], "reason": "é" * MAX_REASON},
            ["+33142685300"],
            "é" * MAX_REASON,
        ),
    ],
)
def test_json(body: Any, numbers: list[str], reason: str) -> None:
    assert numbers_from_json(body, "US") == (numbers, reason)


@pytest.mark.parametrize(
    ("body", "field", "row", "message"),
    [
        (["+14155550100"], "phone_numbers", None, "expected a JSON object"),
        ({}, "phone_numbers", None, "is required"),
        ({"phone_numbers": "+14155550100"}, "phone_numbers", None, "is required"),
        ({"phone_numbers": []}, "phone_numbers", None, "at least one"),
        ({"phone_numbers": ["+14155550100", None]}, "phone_numbers", 2, "must be a string"),
        ({"phone_numbers": ["+14155550100", "+1 415"]}, "phone_numbers", 2, "not a valid number"),
        ({"phone_numbers": ["+14155550100\r\n"]}, "phone_numbers", 1, "control character"),
        ({"phone_numbers": ["+14155550100"], "why": "x"}, "why", None, "unknown field"),
        ({"phone_numbers": ["+14155550100"], "reason": 1}, "reason", None, "must be a string"),
        ({"phone_numbers": ["1"], "reason": "a\tb"}, "reason", None, "control characters"),
    ],
)
def test_bad_json_names_the_field_and_row(
    body: Any, field: str, row: int | None, message: str
) -> None:
    with pytest.raises(DncInputError) as caught:
        numbers_from_json(body, "US")
    assert (caught.value.field, caught.value.row) == (field, row)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  opt-out during call ", "opt-out during call"),
        ("x" * 200, "x" * 200),
    ],
)
def test_reason(value: Any, expected: str) -> None:
    assert parse_reason(value) == expected


@pytest.mark.parametrize("value", ["x" * 201, "a\nb", "\x7f", "a\x85b", 3, ["a"]])
def test_bad_reason(value: Any) -> None:
    with pytest.raises(DncInputError) as caught:
        parse_reason(value)
    assert caught.value.field == "reason"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550100", "+14155550100"),
        ("(415) 555-0100", "+14155550100"),
        (" 415.555.0100", "+14155550100"),
    ],
)
def test_one_number(raw: str, expected: str) -> None:
    assert normalise_number(raw, "US") == expected


@pytest.mark.parametrize("raw", ["", "bogus", "+1415", "+14155550100\n", 14155550100])
def test_one_bad_number(raw: Any) -> None:
    with pytest.raises(DncInputError, match=r"^phone_number: ") as caught:
        normalise_number(raw, "US")
    assert caught.value.row is None


# Valid numbers of every type a contact may not have by default, or ever.
ANY_TYPE = [
    ("+1 900 234 5678", "+19002345678"),  # premium rate
    ("+44 70 1234 5678", "+447012345678"),  # personal
    ("+44 55 1234 5678", "+445512345678"),  # UAN
    ("+49 180 1 2345", "+4918012345"),  # shared cost
    ("+44 7640 123456", "+447640123456"),  # pager
    ("+49 177 99 1234567", "+49177991234567"),  # voicemail access
]


def test_a_list_takes_a_valid_number_of_any_type() -> None:
    """A list never refuses a number it could protect: each way numbers come in."""
    raws, wanted = [raw for raw, _ in ANY_TYPE], [e164 for _, e164 in ANY_TYPE]
    assert [normalise_number(raw, "US") for raw in raws] == wanted
    assert numbers_from_json({"phone_numbers": raws}, "US") == (wanted, "")
    assert parse(("phone_number\n" + "\n".join(raws) + "\n").encode()) == wanted  # plain
    quoted = "phone_number,note\n" + "".join(f'"{raw}",x\n' for raw in raws)
    assert parse(quoted.encode()) == wanted


def test_a_list_still_refuses_an_invalid_number_or_an_extension() -> None:
    for raw in ("+1 155 123 4567", "415-555-0100 x12"):
        with pytest.raises(DncInputError):
            normalise_number(raw, "US")
    with pytest.raises(DncInputError) as caught:
        parse(b"phone_number\n+14155550100\n+1 155 123 4567\n")
    assert caught.value.row == 3
