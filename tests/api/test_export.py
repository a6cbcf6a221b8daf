"""GET /api/v1/options and GET /api/v1/campaigns/{id}/contacts.csv."""

from __future__ import annotations

import csv
import io

from gateway.domain import csvexport
from gateway.http import export
from gateway.http.keys import STORE
from gateway.http.openapi import document
from tests.helpers import Api, csv_of


async def test_options_lists_the_configured_ids(api: Api) -> None:
    response = await api.request("GET", "/options")
    assert response.status == 200
    assert await response.json() == {"agents": ["ivr", "queue"], "phone_numbers": ["main", "alt"]}
    anonymous = await api.client.get("/api/v1/options")
    assert anonymous.status == 401


async def read_csv(api: Api, path: str) -> tuple[list[str], list[dict[str, str]]]:
    response = await api.request("GET", path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = await response.text()
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


async def test_export_streams_every_contact_once_in_order(api: Api, monkeypatch) -> None:
    monkeypatch.setattr(export, "BATCH", 7)  # many pages, one at a time
    campaign = await api.create_ok(csv_of(50, extra="name"))
    path = f"/campaigns/{campaign['id']}/contacts.csv"
    response = await api.request("GET", path)
    assert response.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.headers
    header, rows = await read_csv(api, path)
    assert header == [*csvexport.COLUMNS, "name"]
    assert [r["phone_number"] for r in rows] == [f"+1415{5550000 + i:07d}" for i in range(50)]
    assert [r["name"] for r in rows] == [f"name{i}" for i in range(50)]
    assert {r["status"] for r in rows} == {"pending"}
    assert rows[0]["attempts"] == "0" and rows[0]["outcome"] == "" and rows[0]["row_number"] == "2"
    # The contacts list's filters: paging, and status.
    _, page = await read_csv(api, path + "?limit=10&offset=45")
    assert [r["name"] for r in page] == [f"name{i}" for i in range(45, 50)]
    _, second = await read_csv(api, path + "?page=2&limit=8")
    assert [r["name"] for r in second] == [f"name{i}" for i in range(8, 16)]
    _, failed = await read_csv(api, path + "?status=failed")
    assert failed == []
    await api.request("POST", f"/campaigns/{campaign['id']}/stop")
    _, cancelled = await read_csv(api, path + "?status=cancelled")
    assert len(cancelled) == 50 and {r["status"] for r in cancelled} == {"cancelled"}
    bad = await api.request("GET", path + "?status=nope")
    assert bad.status == 400 and (await bad.json())["field"] == "status"
    assert (await api.request("GET", path + "?limit=0")).status == 400


async def test_export_is_tenant_isolated(api: Api, other_api: Api) -> None:
    campaign = await api.create_ok(csv_of(3))
    path = f"/campaigns/{campaign['id']}/contacts.csv"
    response = await other_api.request("GET", path)
    assert response.status == 404
    assert (await response.json()) == {"error": "campaign not found"}
    assert (await api.client.get("/api/v1" + path)).status == 401
    assert (await api.request("GET", "/campaigns/no-such-id/contacts.csv")).status == 404


async def test_export_keeps_uploaded_text_from_running_as_a_formula(api: Api) -> None:
    body = 'phone_number,status,note\n+14155550100,vip,=HYPERLINK("x")\n+14155550101,a,-2\n'
    campaign = await api.create_ok(body)
    header, rows = await read_csv(api, f"/campaigns/{campaign['id']}/contacts.csv")
    assert header[-2:] == ["custom_status", "note"]  # no two columns named `status`
    assert rows[0]["status"] == "pending" and rows[0]["custom_status"] == "vip"
    assert rows[0]["note"] == '\'=HYPERLINK("x")' and rows[1]["note"] == "'-2"


async def test_export_has_the_amd_verdict_and_the_node(api: Api) -> None:
    campaign = await api.create_ok(csv_of(2))
    db = api.client.app[STORE].db
    # As settling leaves a contact answered by a machine on node b (AMDCAUSE as given).
    await db.execute(
        "UPDATE contacts SET answered_by = 'machine', amd_cause = ?, node = 'b'"
        " WHERE phone_number = '+14155550000'",
        ("-MAXWORDS-4-4",),
    )
    header, rows = await read_csv(api, f"/campaigns/{campaign['id']}/contacts.csv")
    assert header[-3:] == ["answered_by", "amd_cause", "node"]
    judged, untouched = rows
    assert (judged["answered_by"], judged["node"]) == ("machine", "b")
    assert judged["amd_cause"] == "'-MAXWORDS-4-4"  # never run as a formula
    assert (untouched["answered_by"], untouched["amd_cause"], untouched["node"]) == ("", "", "")
    contacts = await (await api.request("GET", f"/campaigns/{campaign['id']}/contacts")).json()
    assert contacts["contacts"][0]["amd_cause"] == "-MAXWORDS-4-4"  # the JSON is as stored


def test_both_endpoints_are_in_openapi() -> None:
    paths = document()["paths"]
    csv_op = paths["/api/v1/campaigns/{id}/contacts.csv"]["get"]
    assert "text/csv" in csv_op["responses"]["200"]["content"]
    assert {p["name"] for p in csv_op["parameters"]} == {"id", "status", "limit", "offset", "page"}
    for column in csvexport.COLUMNS:  # the summary names every column
        assert column in csv_op["summary"], column
    options = paths["/api/v1/options"]["get"]["responses"]["200"]["content"]
    schema = options["application/json"]["schema"]
    assert schema["required"] == ["agents", "phone_numbers"]
