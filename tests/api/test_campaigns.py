"""The campaign endpoints: create, read, list, lifecycle, budget, delete."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.http.keys import STORE
from tests.helpers import Api, csv_of, new_tenant

REFERENCE_FIELDS = {
    "id", "name", "status", "agent_id", "phone_number_id", "max_concurrent_calls",
    "retries_per_contact", "retry_delay_seconds", "scheduled_at", "created_at",
    "started_at", "completed_at", "created_by", "counts",
}  # fmt: skip


async def test_create_returns_reference_fields_and_counts(api: Api) -> None:
    body = await api.create_ok(csv_of(3, extra="n"), name="Spring", max_concurrent_calls=7)
    assert set(body) >= REFERENCE_FIELDS
    assert body["status"] == "draft"
    assert body["name"] == "Spring"
    assert body["max_concurrent_calls"] == 7
    assert (body["retries_per_contact"], body["retry_delay_seconds"]) == (0, 300)
    assert body["created_by"] == "acme"
    assert body["counts"] == {
        "total": 3, "pending": 3, "originated": 0, "connected": 0,
        "completed": 0, "failed": 0, "cancelled": 0,
    }  # fmt: skip
    got = await (await api.request("GET", f"/campaigns/{body['id']}")).json()
    assert got["counts"] == body["counts"] and got["id"] == body["id"]


async def test_list_pages_newest_first(api: Api) -> None:
    ids = [(await api.create_ok(name=f"c{i}"))["id"] for i in range(5)]
    page = await (await api.request("GET", "/campaigns?limit=2&offset=1")).json()
    assert page["total"] == 5
    assert [c["id"] for c in page["campaigns"]] == ids[::-1][1:3]
    second = await (await api.request("GET", "/campaigns?page=2&limit=2")).json()
    assert [c["id"] for c in second["campaigns"]] == ids[::-1][2:4]
    for query in ("limit=0", "limit=1001", "offset=-1", "limit=x", "page=0", "page=1&offset=2"):
        response = await api.request("GET", f"/campaigns?{query}")
        assert response.status == 400, query
        assert "error" in await response.json()


async def test_contacts_filter_and_page(api: Api) -> None:
    campaign = await api.create_ok(csv_of(250, extra="name"))
    path = f"/campaigns/{campaign['id']}/contacts"
    first = await (await api.request("GET", path)).json()
    assert first["total"] == 250 and len(first["contacts"]) == 100  # reference page size
    contact = first["contacts"][0]
    assert contact["phone_number"] == "+14155550000"
    assert contact["custom_fields"] == {"name": "name0"}
    assert contact["status"] == "pending" and contact["attempts"] == 0
    assert contact["last_outcome"] is None and contact["hangup_cause"] is None
    assert contact["created_at"]
    third = await (await api.request("GET", path + "?page=3")).json()
    assert third["contacts"][0]["phone_number"] == "+14155550200"
    assert len(third["contacts"]) == 50
    pending = await (await api.request("GET", path + "?status=pending&limit=5")).json()
    assert pending["total"] == 250 and len(pending["contacts"]) == 5
    failed = await (await api.request("GET", path + "?status=failed")).json()
    assert failed == {"contacts": [], "total": 0}
    bad = await api.request("GET", path + "?status=ringing")
    assert bad.status == 400 and "status" in (await bad.json())["error"]


async def test_lifecycle(api: Api) -> None:
    cid = (await api.create_ok(csv_of(4)))["id"]

    async def post(command: str) -> tuple[int, dict]:
        response = await api.request("POST", f"/campaigns/{cid}/{command}")
        return response.status, await response.json()

    assert (await post("pause"))[0] == 409
    assert (await post("resume"))[0] == 409
    status, body = await post("start")
    assert status == 200 and body["status"] == "running" and body["started_at"]
    status, body = await post("start")
    assert status == 409 and "running" in body["error"]
    assert (await api.request("DELETE", f"/campaigns/{cid}")).status == 409
    assert (await post("pause"))[1]["status"] == "paused"
    assert (await post("pause"))[0] == 409
    assert (await post("resume"))[1]["status"] == "running"
    status, body = await post("stop")
    assert status == 200 and body["status"] == "stopped" and body["completed_at"]
    assert body["counts"]["cancelled"] == 4 and body["counts"]["pending"] == 0
    again = await post("stop")
    assert again == (200, body)  # idempotent
    assert (await post("start"))[0] == 409
    assert (await post("resume"))[0] == 409
    contacts = await (
        await api.request("GET", f"/campaigns/{cid}/contacts?status=cancelled")
    ).json()
    assert contacts["total"] == 4
    assert (await api.request("DELETE", f"/campaigns/{cid}")).status == 204
    assert (await api.request("GET", f"/campaigns/{cid}")).status == 404
    assert (await api.request("DELETE", f"/campaigns/{cid}")).status == 404
    db = api.client.app[STORE].db
    assert await db.fetch_value("SELECT count(*) FROM contacts") == 0
    assert await db.fetch_value("SELECT count(*) FROM events") == 0


async def test_scheduled_start(api: Api) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    cid = (await api.create_ok(scheduled_at=later))["id"]
    body = await (await api.request("POST", f"/campaigns/{cid}/start")).json()
    assert body["status"] == "scheduled" and body["started_at"] is None
    assert (await api.request("POST", f"/campaigns/{cid}/pause")).status == 409
    stopped = await (await api.request("POST", f"/campaigns/{cid}/stop")).json()
    assert stopped["status"] == "stopped"


@pytest.mark.parametrize("command", ["start", "resume"])
async def test_budget_refuses_start_and_resume(api: Api, command: str) -> None:
    tenant = await new_tenant(api.client, "tight", max_calls=10)
    first = (await tenant.create_ok(max_concurrent_calls=6))["id"]
    second = (await tenant.create_ok(max_concurrent_calls=5))["id"]
    assert (await tenant.request("POST", f"/campaigns/{first}/start")).status == 200
    if command == "resume":
        # second runs while first is paused, then first cannot come back
        assert (await tenant.request("POST", f"/campaigns/{first}/pause")).status == 200
        assert (await tenant.request("POST", f"/campaigns/{second}/start")).status == 200
        response = await tenant.request("POST", f"/campaigns/{first}/resume")
    else:
        response = await tenant.request("POST", f"/campaigns/{second}/start")
    assert response.status == 409
    assert "concurrency budget" in (await response.json())["error"]


async def test_concurrent_starts_cannot_both_pass_the_budget(api: Api) -> None:
    import asyncio

    tenant = await new_tenant(api.client, "race", max_calls=10)
    ids = [(await tenant.create_ok(max_concurrent_calls=6))["id"] for _ in range(4)]
    responses = await asyncio.gather(
        *(tenant.request("POST", f"/campaigns/{cid}/start") for cid in ids)
    )
    assert sorted(r.status for r in responses) == [200, 409, 409, 409]
