"""The tenant's do-not-call list over the API: add (JSON and CSV), list, look up, remove;
bad input is a 400 naming the row and adds nothing; tenants never see each other's list,
nor the host's."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.daemon.app import create_app
from gateway.dnc_import import BATCH_NUMBERS
from gateway.http.keys import STORE
from gateway.store.dnc import HOST, DncStaging
from tests.helpers import Api, make_config, new_tenant

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def add_json(api: Api, numbers: Any, **extra: Any) -> Any:
    return await api.request("POST", "/dnc", json={"phone_numbers": numbers, **extra})


async def add_csv(
    api: Api, data: bytes | str, reason: str | None = None, reason_first: bool = True, **fields: str
) -> Any:
    form = FormData()
    if reason is not None and reason_first:
        form.add_field("reason", reason)
    for name, value in fields.items():
        form.add_field(name, value)
    raw = data.encode() if isinstance(data, str) else data
    # A stream, as a client sends a large file (raw bytes over 1 MB warn).
    form.add_field("numbers", io.BytesIO(raw), filename="dnc.csv", content_type="text/csv")
    if reason is not None and not reason_first:
        form.add_field("reason", reason)
    return await api.request("POST", "/dnc", data=form)


async def ok(response: Any, status: int = 200) -> Any:
    body = await response.json() if response.status != 204 else None
    assert response.status == status, body
    return body


async def listed(api: Api, **query: Any) -> dict[str, Any]:
    return await ok(await api.request("GET", "/dnc", params=query))


async def numbers_of(api: Api) -> list[str]:
    return [n["phone_number"] for n in (await listed(api, limit=1000))["numbers"]]


async def staging_tables(api: Api) -> int:
    def count(conn: Any) -> int:
        return conn.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0]

    return await api.client.app[STORE].db.run(count)


async def test_add_json_normalises_and_counts_repeats_as_already(api: Api) -> None:
    body = await ok(await add_json(api, ["(415) 555-0101", "+14155550100"], reason="asked"))
    assert body == {"added": 2, "already": 0}
    # Listed before, and given twice in one request: both `already`.
    again = await add_json(api, ["415 555 0100", "+1 415 555 0102", "4155550102"])
    assert await ok(again) == {"added": 1, "already": 2}
    page = await listed(api)
    assert page["total"] == 3
    assert [n["phone_number"] for n in page["numbers"]] == [
        "+14155550100",
        "+14155550101",
        "+14155550102",
    ]
    first = page["numbers"][0]
    assert first["reason"] == "asked" and TIME.match(first["created_at"])
    assert page["numbers"][2]["reason"] == ""  # no reason given: empty, not null
    assert set(first) == {"phone_number", "reason", "created_at"}


async def test_paging_and_lookup(api: Api) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(250, 0, -1)]  # given in reverse order
    assert await ok(await add_json(api, numbers)) == {"added": 250, "already": 0}
    page = await listed(api, limit=100, offset=100)
    assert page["total"] == 250 and len(page["numbers"]) == 100
    assert page["numbers"][0]["phone_number"] == "+14155550101"  # ordered by number
    assert (await listed(api))["numbers"][99]["phone_number"] == "+14155550100"  # default 100
    assert len((await listed(api, offset=240))["numbers"]) == 10
    assert (await listed(api, page=3))["numbers"][0]["phone_number"] == "+14155550201"
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"limit": "x"}):
        response = await api.request("GET", "/dnc", params=bad)
        assert response.status == 400, bad

    found = await listed(api, phone_number="(415) 555-0007")  # normalised, like contacts
    assert [n["phone_number"] for n in found["numbers"]] == ["+14155550007"]
    assert found["total"] == 1
    assert await listed(api, phone_number="+14155559999") == {"numbers": [], "total": 0}
    response = await api.request("GET", "/dnc", params={"phone_number": "12"})
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "phone_number" and "phone_number" in body["error"]


async def test_add_csv_streams_a_file_with_reason(api: Api) -> None:
    data = (
        b"\xef\xbb\xbfName,Phone_Number,note\r\n"
        b'"Doe, Jane",(415) 555-0100,x\r\n'
        b"\r\n"
        b"Bob,4155550101,\r\n"
        b"Ann,+14155550100,dup"  # no final newline; a repeat of row 2
    )
    body = await ok(await add_csv(api, data, reason="opted out by letter", reason_first=False))
    assert body == {"added": 2, "already": 1}
    page = await listed(api)
    assert [n["phone_number"] for n in page["numbers"]] == ["+14155550100", "+14155550101"]
    assert {n["reason"] for n in page["numbers"]} == {"opted out by letter"}
    # A one-column file (the fast path), LF, blank lines; the reason field first.
    one = "phone_number\n+14155550102\n\n+14155550101\n415-555-0103\n"
    assert await ok(await add_csv(api, one, reason="r2")) == {"added": 2, "already": 1}
    assert (await listed(api))["total"] == 4
    assert await staging_tables(api) == 0


async def test_large_csv_in_many_batches(api: Api) -> None:
    count = BATCH_NUMBERS * 2 + 123
    data = "phone_number\n" + "".join(f"+1415{2000000 + i:07d}\n" for i in range(count))
    assert await ok(await add_csv(api, data)) == {"added": count, "already": 0}
    assert (await listed(api, limit=1))["total"] == count
    assert await staging_tables(api) == 0


@pytest.mark.parametrize(
    ("numbers", "extra", "field", "row", "message"),
    [
        (["+14155550100", "+14155550101", "bogus"], {}, "phone_numbers", 3, "row 3: not a dial"),
        (["+14155550100", "12"], {}, "phone_numbers", 2, "row 2: not a valid number"),
        (["+14155550100", 4155550101], {}, "phone_numbers", 2, "row 2: must be a string"),
        (["+1415555\n0100"], {}, "phone_numbers", 1, "row 1: control character"),
        ([], {}, "phone_numbers", None, "at least one"),
        ("+14155550100", {}, "phone_numbers", None, "a list of phone numbers"),
        (["+14155550100"], {"reason": "x" * 201}, "reason", None, "at most 200"),
        (["+14155550100"], {"reason": "a\x1bb"}, "reason", None, "control characters"),
        (["+14155550100"], {"reason": 7}, "reason", None, "must be a string"),
        (["+14155550100"], {"campaign": "x"}, "campaign", None, "unknown field"),
    ],
)
async def test_bad_json_is_400_naming_the_row_and_adds_nothing(
    api: Api, numbers: Any, extra: dict[str, Any], field: str, row: int | None, message: str
) -> None:
    response = await add_json(api, numbers, **extra)
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == field and body.get("row") == row
    assert message in body["error"] and body["error"].startswith(field + ": ")
    assert await numbers_of(api) == []


async def test_bodies_that_are_not_a_list_of_numbers(api: Api) -> None:
    cases = [
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "not valid"),
        ({"json": ["+14155550100"]}, "JSON object"),
        ({"data": b"+14155550100", "headers": {"Content-Type": "text/plain"}}, "expected"),
        ({}, "expected"),
    ]
    for kwargs, message in cases:
        response = await api.request("POST", "/dnc", **kwargs)
        body = await response.json()
        assert response.status == 400 and message in body["error"], (kwargs, body)
    assert await numbers_of(api) == []


@pytest.mark.parametrize(
    ("data", "row", "message"),
    [
        ("phone_number\n+14155550100\n\nbogus\n", 4, "row 4: not a dialable"),  # lines count
        ("name,phone_number\na,+14155550100\nb\n", 3, "1 values but the header has 2"),
        ("phone_number\n+14155550100\n+14155550101,x\n", 3, "2 values but the header has 1"),
        ("phone_number\n+14155550100\n\x07\n", 3, "control character"),
        ('phone_number\n"+14155550100\n', 2, "malformed CSV"),
        ("number\n+14155550100\n", 1, "no phone_number column"),
        ("", None, "empty"),
        ("phone_number\n\n", None, "no phone numbers"),
        (b"phone_number\n+1415555010\xff\n", 2, "not valid UTF-8"),
    ],
)
async def test_bad_csv_is_400_naming_the_row_and_adds_nothing(
    api: Api, data: str | bytes, row: int | None, message: str
) -> None:
    response = await add_csv(api, data, reason="r")
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == "numbers" and body.get("row") == row, body
    assert message in body["error"] and body["error"].startswith("numbers: ")
    assert await numbers_of(api) == []
    assert await staging_tables(api) == 0


async def test_a_bad_row_after_many_batches_adds_nothing(api: Api) -> None:
    good = "".join(f"+1415{2000000 + i:07d}\n" for i in range(BATCH_NUMBERS * 2))
    response = await add_csv(api, "phone_number\n" + good + "+1415\n")
    body = await response.json()
    assert response.status == 400 and body["row"] == BATCH_NUMBERS * 2 + 2, body
    assert (await listed(api))["total"] == 0
    assert await staging_tables(api) == 0


async def test_bad_form_adds_nothing(api: Api) -> None:
    for fields, message in [
        ({"campaign": "x"}, "campaign: unknown field"),
        ({"reason": "\x00"}, "reason: must not contain control characters"),
    ]:
        response = await add_csv(api, "phone_number\n+14155550100\n", **fields)
        body = await response.json()
        assert response.status == 400 and body["error"] == message, body
    twice = FormData()
    for _ in range(2):
        twice.add_field("numbers", b"phone_number\n+14155550100\n", filename="a.csv")
    response = await api.request("POST", "/dnc", data=twice)
    assert response.status == 400 and "'numbers' is given twice" in (await response.json())["error"]
    only_reason = FormData()
    only_reason.add_field("reason", "r")
    only_reason.add_field("other", b"x", filename="x.csv")  # a file, but not in `numbers`
    response = await api.request("POST", "/dnc", data=only_reason)
    assert response.status == 400
    assert await numbers_of(api) == []
    assert await staging_tables(api) == 0


async def test_upload_limit(aiohttp_client: Any, tmp_path: Path) -> None:
    client: TestClient = await aiohttp_client(
        create_app(make_config(tmp_path, max_upload_bytes=2000))
    )
    api = await new_tenant(client, "acme")
    data = "phone_number\n" + "".join(f"+1415{2000000 + i:07d}\n" for i in range(200))
    response = await add_csv(api, data)
    body = await response.json()
    assert response.status == 400 and "larger than the limit of 2000 bytes" in body["error"]
    assert body["field"] == "numbers"
    assert await numbers_of(api) == []


async def test_delete(api: Api) -> None:
    await ok(await add_json(api, ["+14155550100", "+442079460000"]))
    assert await ok(await api.request("DELETE", "/dnc/(415)%20555-0100"), 204) is None
    assert await numbers_of(api) == ["+442079460000"]
    response = await api.request("DELETE", "/dnc/+14155550100")
    assert response.status == 404
    assert await response.json() == {"error": "number not on the do-not-call list"}
    assert (await api.request("DELETE", "/dnc/%2B442079460000")).status == 204  # encoded +
    response = await api.request("DELETE", "/dnc/bogus")  # not a number: not listed
    body = await response.json()
    assert response.status == 404 and body["field"] == "phone_number", body
    assert await numbers_of(api) == []


async def test_every_endpoint_needs_a_key(api: Api) -> None:
    for method, path in [("GET", "/dnc"), ("POST", "/dnc"), ("DELETE", "/dnc/+14155550100")]:
        response = await api.client.request(method, "/api/v1" + path)
        assert response.status == 401, (method, path)


async def test_tenants_never_see_or_touch_each_other(api: Api, other_api: Api) -> None:
    await ok(await add_json(api, ["+14155550100", "+14155550101"], reason="acme's"))
    # B sees nothing, finds nothing, deletes nothing.
    assert await listed(other_api) == {"numbers": [], "total": 0}
    assert await listed(other_api, phone_number="+14155550100") == {"numbers": [], "total": 0}
    assert (await other_api.request("DELETE", "/dnc/+14155550100")).status == 404
    # B's own list is its own: the same number is new there, and A's reason is untouched.
    assert await ok(await add_json(other_api, ["+14155550100"], reason="globex's")) == {
        "added": 1,
        "already": 0,
    }
    assert await ok(await other_api.request("DELETE", "/dnc/+14155550100"), 204) is None
    page = await listed(api)
    assert page["total"] == 2 and {n["reason"] for n in page["numbers"]} == {"acme's"}
    assert (await listed(api, phone_number="+14155550100"))["total"] == 1


async def test_the_host_list_is_never_shown_to_a_tenant(api: Api) -> None:
    store = api.client.app[STORE].dnc
    assert await store.add(HOST, ["+14155550100", "+14155550199"], "operator") == (2, 0)
    assert await listed(api) == {"numbers": [], "total": 0}
    assert await listed(api, phone_number="+14155550100") == {"numbers": [], "total": 0}
    assert (await api.request("DELETE", "/dnc/+14155550100")).status == 404
    # A tenant may list a number the host lists too: `added` counts its own list only.
    assert await ok(await add_json(api, ["+14155550100"])) == {"added": 1, "already": 0}
    assert await ok(await api.request("DELETE", "/dnc/+14155550100"), 204) is None
    host, total = await store.list(HOST, 10, 0)
    assert total == 2 and [e.phone_number for e in host] == ["+14155550100", "+14155550199"]


async def test_storage_failing_at_the_final_move_adds_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full_disk(self: DncStaging, tenant_id: int, reason: str) -> tuple[int, int]:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO dnc_numbers SELECT phone_number, ?, ?, '' FROM " + self.table,
                (tenant_id, reason),
            )  # written, then the disk fills before COMMIT: all of it rolls back
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13  # SQLITE_FULL
            raise error

        await api.client.app[STORE].db.run(work)
        raise AssertionError("unreachable")

    monkeypatch.setattr(DncStaging, "commit", full_disk)
    response = await add_csv(api, "phone_number\n+14155550100\n+14155550101\n")
    body = await response.json()
    assert response.status == 507 and "nothing was changed" in body["error"], body
    monkeypatch.undo()
    assert await numbers_of(api) == []
    assert await staging_tables(api) == 0  # abort() dropped what the failed commit kept


async def test_a_premium_rate_number_may_be_listed_though_contacts_may_not_have_one(
    api: Api,
) -> None:
    response = await add_json(api, ["+1 900 234 5678"])
    assert response.status == 200, await response.text()
    assert await response.json() == {"added": 1, "already": 0}
    refused = await api.create("phone_number\n+19002345678\n")
    assert refused.status == 400  # allow_premium is off by default
    assert "premium" in (await refused.json())["error"]


async def test_pager_and_voicemail_numbers_may_be_listed_though_no_contact_may_have_one(
    api: Api,
) -> None:
    response = await add_csv(api, "phone_number\n+44 7640 123456\n+49 177 99 1234567\n")
    assert response.status == 200, await response.text()
    assert await response.json() == {"added": 2, "already": 0}
    assert await numbers_of(api) == ["+447640123456", "+49177991234567"]
    refused = await api.create("phone_number\n+447640123456\n")
    assert refused.status == 400 and "pager" in (await refused.json())["error"]
