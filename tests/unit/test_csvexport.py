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
        ("  =1+1", "'  =1+1"),  # leading spaces do not hide it
        ("\u00a0@x", "'\u00a0@x"),
        ("\uff1dCMD()", "'\uff1dCMD()"),  # full-width equals, taken by some locales
        ("\nx", "'\nx"),
        (" Ada", " Ada"),
        ("\u2003=1", "'\u2003=1"),  # an em space
        ("\u200b\ufeff+1", "'\u200b\ufeff+1"),  # zero-width space, byte-order mark
        ("\ufe66x", "'\ufe66x"),  # small equals
        ("\ufe63x", "'\ufe63x"),  # small hyphen-minus
        ("\u200bAda", "\u200bAda"),
        ("   ", "   "),
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
        "last_outcome": "busy", "hangup_cause": 17,
        "sip_code": "486", "talk_seconds": None, "next_attempt_at": None,
        "updated_at": "2026-01-01T00:00:00.000Z", "row_number": 3,
        "custom_fields": {"status": "vip"}, "timezones": ["America/New_York"],
        "opted_out": False, "answered_by": "machine", "amd_cause": "=MAXWORDS-4-4",
        "hangup_cause_text": "-refused: =x",
        "node": "b",
    }  # fmt: skip
    row = dict(zip(csvexport.header(["status"]), csvexport.row(contact, ["status"]), strict=True))
    assert row["phone_number"] == "+14155550100" and row["status"] == "failed"
    assert (row["outcome"], row["hangup_cause"], row["sip_code"]) == ("busy", "17", "486")
    assert row["hangup_cause_text"] == "'-refused: =x"
    assert row["talk_seconds"] == "" and row["contact_id"] == "7" and row["row_number"] == "3"
    assert row["custom_status"] == "vip"
    assert (row["timezones"], row["opted_out"]) == ("America/New_York", "false")
    assert (row["answered_by"], row["amd_cause"], row["node"]) == ("machine", "'=MAXWORDS-4-4", "b")


def test_the_columns_keep_their_places() -> None:
    """A spreadsheet or script reading columns by position keeps working: columns added
    later come after `contact_id`, before the custom fields."""
    assert csvexport.COLUMNS == (
        "phone_number", "status", "outcome", "hangup_cause", "hangup_cause_text", "sip_code",
        "attempts", "talk_seconds", "next_attempt_at", "timezones", "opted_out", "updated_at",
        "row_number", "contact_id", "answered_by", "amd_cause", "node",
    )  # fmt: skip


def test_a_contact_never_judged_nor_dialled_has_empty_amd_and_node_cells() -> None:
    contact = {
        "id": 1, "phone_number": "+14155550100", "status": "pending", "attempts": 0,
        "last_outcome": None, "hangup_cause": None, "hangup_cause_text": None,
        "sip_code": None, "talk_seconds": None, "next_attempt_at": None,
        "updated_at": "2026-01-01T00:00:00.000Z", "row_number": 2, "custom_fields": {},
        "timezones": [], "opted_out": False, "answered_by": None, "amd_cause": None,
        "node": None,
    }  # fmt: skip
    row = dict(zip(csvexport.header([]), csvexport.row(contact, []), strict=True))
    assert (row["answered_by"], row["amd_cause"], row["node"]) == ("", "", "")


def test_the_blanks_skipped_are_every_unicode_space_but_tab_and_line_breaks() -> None:
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()} - set("\t\r\n")
    skipped = csvexport._BLANK
    assert skipped == spaces | set("\u200b\u200c\u200d\u2060\ufeff")
