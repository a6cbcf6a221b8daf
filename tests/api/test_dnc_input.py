"""The tenant's do-not-call list, as clients really write to it: a literal `+` in the
lookup's query string, JSON bodies sent without a JSON content type (`curl -d`), and
numbers the number reader no longer reads (entries listed by an older one)."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest

from gateway.config import Config
from gateway.http import dnc as dnc_http
from tests.helpers import Api

LEGACY = "+11551234567"  # no such +1 number today: the reader refuses it


async def body_of(response: Any, status: int) -> Any:
    body = await response.json() if response.status != 204 else None
    assert response.status == status, body
    return body


async def add(api: Api, *numbers: str) -> None:
    response = await api.request("POST", "/dnc", json={"phone_numbers": list(numbers)})
    await body_of(response, 200)


async def lookup(api: Api, raw_query: str, status: int = 200) -> Any:
    """GET /dnc with the query string sent exactly as written."""
    response = await api.request("GET", "/dnc?" + raw_query)
    return await body_of(response, status)


def tenant_id(config: Config, name: str) -> int:
    with sqlite3.connect(config.db_path) as conn:
        return conn.execute("SELECT id FROM tenants WHERE name = ?", (name,)).fetchone()[0]


def list_legacy(config: Config, tenant: int, number: str = LEGACY) -> None:
    """An entry as an older number reader stored it, written straight to the database."""
    conn = sqlite3.connect(config.db_path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
                " VALUES (?, ?, 'old', '2020-01-01T00:00:00.000Z')",
                (number, tenant),
            )
    finally:
        conn.close()


def stored(config: Config) -> list[tuple[str, int]]:
    with sqlite3.connect(config.db_path) as conn:
        return conn.execute(
            "SELECT phone_number, tenant_id FROM dnc_numbers ORDER BY tenant_id, phone_number"
        ).fetchall()


async def test_a_literal_plus_in_the_query_is_the_numbers_plus(api: Api) -> None:
    await add(api, "+442079460958", "+14155550100")
    for query in (
        "phone_number=+442079460958",  # literal: a form would read a space, then +1 44...
        "phone_number=%2B442079460958",
        "phone_number=+44%2020%207946%200958",
        "phone_number=+44 20 7946 0958",
        "phone_number=%2B44+20+7946+0958",  # form-encoded spaces still read
        "limit=5&phone_number=+442079460958",
        "phone%5Fnumber=+442079460958",
    ):
        found = await lookup(api, query)
        assert [n["phone_number"] for n in found["numbers"]] == ["+442079460958"], query
    national = await lookup(api, "phone_number=415+555+0100")  # form-encoded national
    assert national["total"] == 1
    assert await lookup(api, "phone_number=+442079460959") == {"numbers": [], "total": 0}
    bad = await lookup(api, "phone_number=+44", 400)
    assert bad["field"] == "phone_number" and "'+44'" in bad["error"]


async def test_json_without_a_json_content_type(api: Api) -> None:
    body = b'{"phone_numbers": ["+14155550100", "(415) 555-0101"], "reason": "curl -d"}'
    for headers in (
        {"Content-Type": "application/x-www-form-urlencoded"},  # what curl -d sends
        {"Content-Type": "text/plain; charset=utf-8"},
        {},  # none at all
    ):
        skip = () if headers else ("Content-Type",)
        response = await api.request(
            "POST", "/dnc", data=body, headers=headers, skip_auto_headers=skip
        )
        assert response.request_info.headers.get("Content-Type") == headers.get("Content-Type")
        added = await body_of(response, 200)
        assert added["added"] + added["already"] == 2, headers
    listed = await lookup(api, "limit=10")
    assert [(n["phone_number"], n["reason"]) for n in listed["numbers"]] == [
        ("+14155550100", "curl -d"),
        ("+14155550101", "curl -d"),
    ]
    # Not a JSON object: the clear 400, nothing added; a bad number: its row.
    for data, content_type, message in (
        (b"phone_number=+14155550102", "application/x-www-form-urlencoded", "expected"),
        (b'["+14155550102"]', "text/plain", "expected"),
        (b"+14155550102", None, "expected"),
        (b"<numbers/>", "application/xml", "expected"),
        (b'{"phone_numbers": ["+14155550102", "bogus"]}', None, "row 2"),
    ):
        headers = {"Content-Type": content_type} if content_type else {}
        skip = () if content_type else ("Content-Type",)
        response = await api.request(
            "POST", "/dnc", data=data, headers=headers, skip_auto_headers=skip
        )
        error = await body_of(response, 400)
        assert message in error["error"], (data, error)
    assert (await lookup(api, "phone_number=%2B14155550102"))["total"] == 0


async def test_an_unreadable_number_is_404_and_a_legacy_entry_is_removed(
    api: Api, other_api: Api, config: Config
) -> None:
    mine, theirs = tenant_id(config, "acme"), tenant_id(config, "globex")
    list_legacy(config, mine)
    list_legacy(config, theirs)
    # Another tenant's entry: never found nor removed through mine, nor mine through theirs.
    response = await api.request("DELETE", "/dnc/bogus")
    error = await body_of(response, 404)
    assert error["field"] == "phone_number"
    assert error["error"].startswith("not on the do-not-call list: not a dialable phone number")
    found = await lookup(api, f"phone_number={LEGACY}")
    assert [(n["phone_number"], n["reason"]) for n in found["numbers"]] == [(LEGACY, "old")]
    assert (await lookup(api, "phone_number=bogus", 400))["field"] == "phone_number"
    assert (await lookup(api, "phone_number=+1155123", 200))["total"] == 0  # looked up, absent
    await body_of(await api.request("DELETE", "/dnc/+1%20(155)%20123-4567"), 204)
    assert stored(config) == [(LEGACY, theirs)]
    assert (await lookup(api, f"phone_number={LEGACY}"))["total"] == 0
    again = await body_of(await api.request("DELETE", f"/dnc/{LEGACY}"), 404)
    assert again["error"].startswith("not on the do-not-call list: not a valid number")
    await body_of(await other_api.request("DELETE", "/dnc/%2B11551234567"), 204)
    assert stored(config) == []


async def test_a_legacy_entry_is_only_its_tenants(api: Api, other_api: Api, config: Config) -> None:
    list_legacy(config, tenant_id(config, "acme"))
    list_legacy(config, 0)  # the host's: a tenant never removes it
    assert (await lookup(other_api, f"phone_number={LEGACY}"))["total"] == 0
    await body_of(await other_api.request("DELETE", f"/dnc/{LEGACY}"), 404)
    await body_of(await api.request("DELETE", f"/dnc/{LEGACY}"), 204)
    await body_of(await api.request("DELETE", f"/dnc/{LEGACY}"), 404)
    assert stored(config) == [(LEGACY, 0)]


async def test_removing_an_old_form_removes_it_and_its_re_read_form(
    api: Api, other_api: Api, config: Config
) -> None:
    """The upgrade kept each old form beside its re-read one (issue 12): a DELETE of the
    old text removes both, of this tenant's list only; the re-read form removes itself."""
    old, new = "+3750152450911", "+375152450911"  # Belarus, as the old reader stored it
    mine, theirs = tenant_id(config, "acme"), tenant_id(config, "globex")
    for tenant in (mine, theirs):
        list_legacy(config, tenant, old)
        list_legacy(config, tenant, new)
    list_legacy(config, mine, "+3750294911911")
    await body_of(await api.request("DELETE", f"/dnc/{old}"), 204)
    assert stored(config) == [("+3750294911911", mine), (old, theirs), (new, theirs)]
    await body_of(await api.request("DELETE", f"/dnc/{old}"), 404)
    # Its re-read form alone listed: a DELETE of the old text still finds it.
    await body_of(await other_api.request("DELETE", "/dnc/+375294911911"), 404)
    await body_of(await api.request("DELETE", "/dnc/+3750294911911"), 204)
    assert stored(config) == [(old, theirs), (new, theirs)]


async def test_a_json_body_is_read_off_the_event_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to 1 MiB of numbers that take libphonenumber's slow path is ~0.7 s of CPU: the
    body is normalised in a thread, never in one piece on the loop."""
    threads: list[int] = []
    real = dnc_http.numbers_from_json

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(dnc_http, "numbers_from_json", spy)
    await add(api, "tel: +1 415 200 0000")
    assert len(threads) == 1 and threads[0] != threading.get_ident()
    assert (await lookup(api, "phone_number=%2B14152000000"))["total"] == 1
