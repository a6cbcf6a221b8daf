"""CSV upload through the API: accepted whole, or refused whole leaving nothing behind."""

from dataclasses import replace

import pytest
from aiohttp import FormData

from gateway.daemon.app import create_app
from gateway.http.keys import SERVICE, STORE
from tests.helpers import Api, csv_of, new_tenant


async def assert_nothing_left(api: Api) -> None:
    db = api.client.app[STORE].db
    assert await db.fetch_value("SELECT count(*) FROM campaigns") == 0
    assert await db.fetch_value("SELECT count(*) FROM contacts") == 0
    listed = await (await api.request("GET", "/campaigns")).json()
    assert listed["total"] == 0


async def test_bom_crlf_quotes_any_column(api: Api) -> None:
    csv = (
        b'\xef\xbb\xbf"first name",city,phone_number\r\n'
        b'"Doe, Jane","San Francisco","+1 (415) 555-0100"\r\n'
        b"Bob,LA,415.555.0101\r\n"
    )
    body = await api.create_ok(csv)
    assert body["counts"]["total"] == 2
    assert body["custom_field_names"] == ["first name", "city"]
    contacts = await (await api.request("GET", f"/campaigns/{body['id']}/contacts")).json()
    assert [c["phone_number"] for c in contacts["contacts"]] == ["+14155550100", "+14155550101"]
    assert contacts["contacts"][0]["custom_fields"] == {
        "first name": "Doe, Jane",
        "city": "San Francisco",
    }


async def test_duplicates_reported_and_kept_once(api: Api) -> None:
    csv = "phone_number,n\n+14155550100,a\n415-555-0100,b\n+14155550101,c\n(415) 555-0101,d\n"
    body = await api.create_ok(csv)
    assert body["counts"]["total"] == 2
    assert body["duplicates"] == 2
    assert body["import"] == {
        "rows": 4,
        "contacts": 2,
        "duplicates": 2,
        "duplicate_rows": [3, 5],
        "dnc": 0,
    }
    contacts = await (await api.request("GET", f"/campaigns/{body['id']}/contacts")).json()
    assert [c["custom_fields"]["n"] for c in contacts["contacts"]] == ["a", "c"]  # first kept


async def test_same_number_in_two_campaigns_is_fine(api: Api) -> None:
    await api.create_ok()
    await api.create_ok()


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        (b"", "contacts: the file is empty"),
        (b"name\nAl\n", "contacts: row 1: the header has no phone_number column"),
        (b"phone_number\n", "no contact rows"),
        (b"phone_number\n+14155550100\n\n+1415\n", "contacts: row 4: not a valid number"),
        (b"phone_number\n+14155550100\n+1 (155) 555-0100\n", "contacts: row 3: not a valid"),
        (b"phone_number\n+14155550100\n415 555 0100 x7\n", "row 3: an extension cannot"),
        (b"phone_number\n+14155550100\n \n", None),  # a blank line is not a contact
        (b"phone_number,x\n+14155550100,\x00\n", "contacts: row 2: control character"),
        (b"phone_number,x\n+14155550100,a\rAction: Hangup\n", "row 2: control character"),
        (b"phone_number\n\xff\xfe\n", "contacts: row 2: the file is not valid UTF-8"),
        (b"phone_number,n\n,x\n", "row 2: empty phone number"),
        (
            "phone_number,n\n+14155550100,ok\n+14155550101," + "é" * 512 + "\n",
            "contacts: row 3: column 'n': the value is over the limit of 1000 bytes",
        ),
        (
            b"phone_number,first name,first-name\n+14155550100,a,b\n",
            "contacts: row 1: columns 'first name' and 'first-name' would both become",
        ),
    ],
)
async def test_bad_csv_refused_whole(api: Api, csv: bytes | str, message: str | None) -> None:
    response = await api.create(csv)
    body = await response.json()
    if message is None:
        assert response.status == 201
        return
    assert response.status == 400, body
    assert message in body["error"]
    assert body["field"] == "contacts"
    await assert_nothing_left(api)


async def test_value_over_the_byte_limit_names_row_and_column(api: Api) -> None:
    csv = "phone_number,city,note\n" + "+14155550100,Rome,ok\n" * 3
    csv += '+14155550104,Rome,"' + "(x)," * 200 + '"\n'  # 800 characters, 1,600 escaped
    response = await api.create(csv)
    body = await response.json()
    assert response.status == 400, body
    assert body["row"] == 5
    assert "column 'note'" in body["error"] and "1000 bytes" in body["error"]
    await assert_nothing_left(api)
    at_limit = "phone_number,note\n+14155550100," + "x" * (1000 - len("Variable: CF_note=\r\n"))
    assert (await api.create(at_limit + "\n")).status == 201


async def test_bad_row_after_many_batches_leaves_nothing(api: Api) -> None:
    csv = csv_of(45000) + "not-a-number\n"  # two batches are written before it
    response = await api.create(csv)
    body = await response.json()
    assert response.status == 400
    assert body["row"] == 45002 and "row 45002" in body["error"]
    await assert_nothing_left(api)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"max_concurrent_calls": "0"}, "max_concurrent_calls"),
        ({"max_concurrent_calls": "101"}, "max_concurrent_calls"),
        ({"retries_per_contact": "6"}, "retries_per_contact"),
        ({"retry_delay_seconds": "59"}, "retry_delay_seconds"),
        ({"scheduled_at": "2001-01-01T00:00:00Z"}, "scheduled_at"),
        ({"agent_id": "nobody"}, "agent_id"),
        ({"phone_number_id": "nobody"}, "phone_number_id"),
        ({"calling_window_start": "09:00"}, "calling_window_end"),
        ({"bogus": "1"}, "bogus"),
    ],
)
async def test_bad_field_named_and_nothing_left(api: Api, fields: dict, field: str) -> None:
    response = await api.create(csv_of(6000), **fields)
    body = await response.json()
    assert response.status == 400
    assert body["field"] == field
    assert body["error"].startswith(field + ":")
    await assert_nothing_left(api)


async def test_missing_file_or_not_multipart(api: Api) -> None:
    form = FormData()
    form.add_field("name", "x")
    form.add_field("dummy", b"x", filename="x.bin")  # force multipart
    response = await api.request("POST", "/campaigns", data=form)
    body = await response.json()
    assert response.status == 400 and body["field"] in ("contacts", "dummy")
    response = await api.request("POST", "/campaigns", json={"name": "x"})
    assert response.status == 400
    assert "multipart/form-data" in (await response.json())["error"]
    await assert_nothing_left(api)


async def test_truncated_body_refused(api: Api) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="contacts"; filename="c.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nphone_number\n+14155550100\n"
    ).encode()
    response = await api.request(
        "POST",
        "/campaigns",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status == 400
    assert "incomplete" in (await response.json())["error"]
    await assert_nothing_left(api)


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("+1 900 234 5678", "premium-rate"),
        ("+44 70 1234 5678", "personal"),  # the UK's 070 range: a known high-cost one
        ("+44 55 1234 5678", "UAN"),
        ("+49 180 1 2345", "shared-cost"),
    ],
)
async def test_numbers_that_cost_more_need_the_operators_consent(  # type: ignore[no-untyped-def]
    aiohttp_client, config, number: str, kind: str
) -> None:
    csv = f"phone_number\n+14155550100\n{number}\n"
    refused = await new_tenant(await aiohttp_client(create_app(config)), "acme")
    response = await refused.create(csv)
    body = await response.json()
    assert response.status == 400, body
    assert body["row"] == 3 and kind in body["error"], body
    assert "[contacts] allow_premium = true" in body["error"]
    await assert_nothing_left(refused)
    allowed = await aiohttp_client(create_app(replace(config, allow_premium=True)))
    api = await new_tenant(allowed, "globex")  # same database, another tenant
    created = await api.create_ok(csv)
    assert created["counts"]["total"] == 2


async def test_large_uploads_parsed_in_the_worker_process(aiohttp_client, config) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(config))
    worker = client.app[SERVICE].parse_worker
    worker.min_bytes = 0  # every upload with a Content-Length goes to the worker
    api = await new_tenant(client, "acme")
    created = await api.create_ok(csv_of(45000) + "+14155550100\n")  # and a duplicate
    assert created["counts"]["total"] == 45000
    assert created["import"]["duplicates"] == 1
    assert worker._pool is not None  # it did
    response = await api.create(csv_of(30000) + "+1 055 123 4567\n")
    body = await response.json()
    assert response.status == 400, body
    assert body["row"] == 30002 and "not a valid number" in body["error"]
    listed = await (await api.request("GET", "/campaigns")).json()
    assert listed["total"] == 1  # the refused upload left nothing


async def test_size_limit(aiohttp_client, config) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(replace(config, max_upload_bytes=64 * 1024)))
    api = await new_tenant(client, "acme")
    response = await api.create(csv_of(10000))
    body = await response.json()
    assert response.status == 400
    assert "larger than the limit of 65536 bytes" in body["error"]
    await assert_nothing_left(api)
    assert (await api.create(csv_of(100))).status == 201
