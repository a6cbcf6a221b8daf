"""The contacts export's columns and cells (gateway.domain.csvexport)."""

import pytest

from gateway.domain import csvexport


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Ada", "Ada"),
        ("=1+1", "'=1+1"),
        ("+1 555", "'+1 555"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_cells_never_start_a_formula(value: str, written: str) -> None:
    assert csvexport.text_cell(value) == written


@pytest.mark.parametrize(
    ("custom", "columns"),
    [
        ([], []),
        (["first_name"], ["first_name"]),
        (["status", "note"], ["custom_status", "note"]),
        (["status", "custom_status"], ["custom_status", "custom_custom_status"]),
        (['=HYPERLINK("http://x","y")', "@sum"], ['\'=HYPERLINK("http://x","y")', "'@sum"]),
    ],
)
def test_header_keeps_every_column_name_unique(custom: list[str], columns: list[str]) -> None:
    header = csvexport.header(custom)
    assert header == [*csvexport.COLUMNS, *columns]
    assert len(set(header)) == len(header)


def test_a_row_follows_the_header() -> None:
    contact = {
        "id": 7, "phone_number": "+14155550100", "status": "failed", "attempts": 2,
        "last_outcome": "busy", "hangup_cause": 17, "hangup_cause_text": "User busy",
        "sip_code": "486", "talk_seconds": None, "next_attempt_at": None,
        "updated_at": "2026-01-01T00:00:00.000Z", "row_number": 3,
        "custom_fields": {"status": "vip"}, "timezones": ["America/New_York"],
        "opted_out": False,
    }  # fmt: skip
    row = dict(zip(csvexport.header(["status"]), csvexport.row(contact, ["status"]), strict=True))
    assert row["phone_number"] == "+14155550100" and row["status"] == "failed"
    assert (row["outcome"], row["hangup_cause"], row["sip_code"]) == ("busy", "17", "486")
    assert row["talk_seconds"] == "" and row["contact_id"] == "7" and row["row_number"] == "3"
    assert row["custom_status"] == "vip"
    assert (row["timezones"], row["opted_out"]) == ("America/New_York", "false")
