"""The streaming CSV parser: any chunking gives the same rows; bad files name the row."""

import pytest

from gateway.ami.protocol import MAX_LINE_BYTES, encode_action
from gateway.ami.telephony import VARIABLE_NAME, escape_variable_value
from gateway.domain.csvimport import CsvContacts, CsvError
from gateway.domain.variables import MAX_VARIABLE_LINE_BYTES, custom_variable, variable_line_bytes

GOOD = (
    b"\xef\xbb\xbfname,phone_number,city\r\n"
    b'"Doe, Jane",+1 (415) 555-0100,"San ""Fran"""\r\n'
    b"\r\n"
    b"Bob,4155550101,LA\r\n"
    b"Zo\xc3\xab,415 555 0102,M\xc3\xbcnchen"  # no final newline, UTF-8 letters
)


def parse_rows(data: bytes, chunk: int = 65536, region: str = "US") -> tuple[list, CsvContacts]:
    """Every row as the parser gives it, zones included."""
    parser = CsvContacts(region)
    rows = []
    for i in range(0, len(data), chunk):
        rows += parser.feed(data[i : i + chunk])
    rows += parser.finish()
    return rows, parser


def parse(data: bytes, chunk: int = 65536, region: str = "US") -> tuple[list, CsvContacts]:
    """Rows as (row number, number, values); the zones are tested in test_zones_import."""
    rows, parser = parse_rows(data, chunk, region)
    return [row[:3] for row in rows], parser


def test_rows_numbered_as_lines_and_normalised() -> None:
    rows, parser = parse(GOOD)
    assert parser.custom_field_names == ["name", "city"]
    assert rows == [
        (2, "+14155550100", ("Doe, Jane", 'San "Fran"')),
        (4, "+14155550101", ("Bob", "LA")),
        (5, "+14155550102", ("Zoë", "München")),
    ]


def test_every_chunking_gives_the_same_rows() -> None:
    expected, _ = parse(GOOD)
    for size in range(1, 12):
        assert parse(GOOD, chunk=size)[0] == expected


def test_lf_only_and_phone_column_first() -> None:
    rows, parser = parse(b"phone_number,id\n+14155550100,7\n")
    assert rows == [(2, "+14155550100", ("7",))]
    assert parser.custom_field_names == ["id"]


def test_empty_named_columns_are_dropped() -> None:
    rows, parser = parse(b"phone_number,name,,\n+14155550100,Al,,\n")
    assert parser.custom_field_names == ["name"]
    assert rows == [(2, "+14155550100", ("Al",))]


@pytest.mark.parametrize(
    ("data", "row", "message"),
    [
        (b"", None, "empty"),
        (b"\n\n", None, "empty"),
        (b"name,number\nAl,1\n", 1, "no phone_number column"),
        (b"phone_number\n", None, "no contact rows"),
        (b"phone_number\n\n\n", None, "no contact rows"),
        (b"phone_number\n+14155550100\n\n", None, None),  # fine: trailing blank lines
        (b"phone_number,name\n+14155550100,Al\n,Bo\n", 3, "empty phone number"),
        (b"phone_number\n+14155550100\nnot a number\n", 3, "not a dialable"),
        (b"phone_number,n\n+14155550100,a\x00b\n", 2, "control character"),
        (b"phone_number,n\n+14155550100,a\rb\n", 2, "control character"),
        (b"phone_number,n\n+14155550100,a\x1b[31m\n", 2, "control character"),
        (b"phone_number,n\n+14155550100,\xc2\x85\n", 2, "control character"),  # C1 NEL
        (b'phone_number,n\n+14155550100,"a\nAction: Originate"\n', 2, "spans lines"),
        (b"phone_number,n\n+14155550100,ok\n+14155550101,\xff\n", 3, "not valid UTF-8"),
        (b"phone_number,n\n+14155550100\n", 2, "header has 2 columns"),
        (b"phone_number,n\n+14155550100,a,b\n", 2, "header has 2 columns"),
        (b"phone_number,first name,first-name\n+14155550100,a,b\n", 1, "variable CF_first_name"),
    ],
)
def test_refusals_name_row_and_problem(data: bytes, row: int | None, message: str | None) -> None:
    if message is None:
        parse(data)
        return
    with pytest.raises(CsvError) as error:
        parse(data)
    assert error.value.row == row
    assert message in str(error.value)


def test_refusal_found_whatever_the_chunking() -> None:
    data = b"phone_number,n\n" + b"+14155550100,a\n" * 50 + b"+14155550101,bad\x07\n"
    for size in (1, 7, 64, 4096):
        with pytest.raises(CsvError) as error:
            parse(data, chunk=size)
        assert error.value.row == 52


@pytest.mark.parametrize(
    ("column", "variable"),
    [
        ("first_name", "CF_first_name"),
        (" First Name ", "CF_First_Name"),
        ("2nd", "CF_2nd"),  # a digit first is fine after the prefix: no leading _
        ("_CAMPAIGN_ID", "CF__CAMPAIGN_ID"),  # not Asterisk's inheritance any more
        ("__note", "CF___note"),
        ("a-b.c", "CF_a_b_c"),
        ("é", "CF__"),
        ("x" * 70, "CF_" + "x" * 61),  # within VARIABLE_NAME's 64 characters
    ],
)
def test_variable_names_are_prefixed_and_safe(column: str, variable: str) -> None:
    assert custom_variable(column) == variable
    assert VARIABLE_NAME.fullmatch(variable)


def wire_bytes(column: str, value: str) -> int:
    """The Originate header line as the AMI adapter writes it, CRLF included."""
    return len(f"Variable: CF_{column}={escape_variable_value(value)}\r\n".encode())


def one_value(column: str, value: str) -> bytes:
    quoted = '"' + value.replace('"', '""') + '"'
    return f"phone_number,{column}\n+14155550100,{quoted}\n".encode()


LIMIT = 1000  # bytes of the whole header line, CRLF included


def test_the_limit_counts_what_the_encoder_writes() -> None:
    assert MAX_VARIABLE_LINE_BYTES == LIMIT < MAX_LINE_BYTES  # with margin under Asterisk's
    for value in ("", "plain", "é" * 3, 'a,b "c" (d) [e] \\f', "," * 491 + "x"):
        name = custom_variable("first name")
        header = f"{name}={escape_variable_value(value)}"
        written = encode_action({"Variable": header})  # the line and the blank line ending it
        assert (
            variable_line_bytes(name, value) == len(written) - 2 == wire_bytes("first_name", value)
        )


@pytest.mark.parametrize(
    ("column", "value", "accepted"),
    [
        ("n", "é" * 512, False),  # 512 characters, 1,024 bytes
        ("n", "é" * 100, True),
        ("n", "x" * 983, True),  # the line is exactly LIMIT bytes
        ("n", "x" * 984, False),  # LIMIT + 1
        ("n", "," * 491 + "x", True),  # each comma is escaped to two bytes: LIMIT
        ("n", "," * 492, False),  # LIMIT + 1
        ("n", "é" * 491 + "x", True),  # LIMIT
        ("n", "é" * 491 + "xx", False),
        ("first name", "x" * 974, True),  # a longer name leaves less for the value
        ("first name", "x" * 975, False),
    ],
)
def test_values_limited_in_bytes_of_the_ami_line(column: str, value: str, accepted: bool) -> None:
    size = wire_bytes(column.replace(" ", "_"), value)
    assert (size <= LIMIT) == accepted, size  # the table itself is right
    if accepted:
        rows, _ = parse(one_value(column, value))
        assert rows == [(2, "+14155550100", (value,))]
        return
    with pytest.raises(CsvError) as error:
        parse(one_value(column, value))
    assert error.value.row == 2
    assert f"column {column!r}" in str(error.value)
    assert f"{LIMIT} bytes" in str(error.value)


def test_byte_limit_found_whatever_the_chunking() -> None:
    data = b"phone_number,a,b\n" + b"+14155550100,x,y\n" * 30
    data += ("+14155550101,ok," + "é" * 500 + "\n").encode()
    for size in (1, 3, 64, 4096):
        with pytest.raises(CsvError) as error:
            parse(data, chunk=size)
        assert error.value.row == 32 and "column 'b'" in str(error.value)


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("first name,first-name", ("first name", "first-name")),
        ("a,a", ("a", "a")),  # one-letter strings are the same object in CPython
        ("Note,note", ("Note", "note")),  # Asterisk may read names in any case
        ("a" * 61 + "1," + "a" * 61 + "2", ("a" * 61 + "1", "a" * 61 + "2")),  # truncated
        ("x,é,ü", ("é", "ü")),
    ],
)
def test_columns_colliding_after_made_safe_name_both(header: str, names: tuple) -> None:
    with pytest.raises(CsvError) as error:
        parse(f"phone_number,{header}\n+14155550100,{',' * header.count(',')}\n".encode())
    assert error.value.row == 1
    assert f"columns {names[0]!r} and {names[1]!r}" in str(error.value)


@pytest.mark.parametrize(
    "header",
    ["note,_note", "CAMPAIGN_ID,_CAMPAIGN_ID,__CAMPAIGN_ID,ATTEMPT_ID", "1st,_1st", "a" * 200],
)
def test_columns_that_no_longer_collide(header: str) -> None:
    _, parser = parse(f"phone_number,{header}\n+14155550100,{',' * header.count(',')}\n".encode())
    assert parser.custom_field_names == header.split(",")
