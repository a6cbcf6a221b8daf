"""GET /api/v1/campaigns/{id}/contacts/{contact_id}: the contact, its attempts and its
decisions, to its own tenant only; the timezone column and retry_on at upload."""

from __future__ import annotations

from gateway.http.keys import STORE
from gateway.http.openapi import document
from tests.api.test_openapi import check_against
from tests.helpers import Api, new_tenant


async def test_a_contact_with_its_trail(api: Api) -> None:
    body = await api.create_ok("phone_number,timezone,name\n+12125550100,Europe/Paris,Ann\n")
    cid = body["id"]
    contacts = (await (await api.request("GET", f"/campaigns/{cid}/contacts")).json())["contacts"]
    contact_id = contacts[0]["id"]
    assert contacts[0]["timezones"] == ["Europe/Paris"]
    assert contacts[0]["opted_out"] is False
    response = await api.request("GET", f"/campaigns/{cid}/contacts/{contact_id}")
    assert response.status == 200
    detail = await response.json()
    assert detail["phone_number"] == "+12125550100"
    assert detail["custom_fields"] == {"timezone": "Europe/Paris", "name": "Ann"}
    assert (detail["attempts"], detail["attempts_made"], detail["decisions"]) == ([], 0, [])


async def test_each_attempt_says_who_answered_it(api: Api) -> None:
    """Every item of `attempts` has its own answered_by and amd_cause (stored per attempt):
    null when AMD was off or the call was not answered, or Asterisk gave no cause."""
    cid = (await api.create_ok("phone_number\n+12125550100\n", amd="on"))["id"]
    db = api.client.app[STORE].db
    contact_id, pk = (await db.fetch_one(
        "SELECT k.id, k.campaign_pk FROM contacts k JOIN campaigns c ON c.pk = k.campaign_pk"
        " WHERE c.id = ?", (cid,)))  # fmt: skip
    rows = [  # number, outcome, answered_by, amd_cause
        (1, "no_answer", None, None),
        (2, "machine", "machine", "MAXWORDS-3-2"),
        (3, "answered", "unknown", None),  # HANGUP: Asterisk gave no cause
        (4, "answered", "human", "HUMAN-800-800"),
    ]
    for number, outcome, answered_by, cause in rows:
        await db.execute(
            "INSERT INTO attempts (id, contact_id, campaign_pk, number, status, created_at,"
            " ended_at, outcome, answered_by, amd_cause, node)"
            " VALUES (?, ?, ?, ?, 'ended', ?, ?, ?, ?, ?, 'default')",
            (f"a-{number}", contact_id, pk, number, 1.8e9 + number, 1.8e9 + number + 0.5,
             outcome, answered_by, cause),
        )  # fmt: skip
    response = await api.request("GET", f"/campaigns/{cid}/contacts/{contact_id}")
    assert response.status == 200
    attempts = (await response.json())["attempts"]
    assert [(a["number"], a["outcome"], a["answered_by"], a["amd_cause"]) for a in attempts] == rows
    assert all({"answered_by", "amd_cause", "node"} <= set(a) for a in attempts)
    spec = document()
    path = spec["paths"]["/api/v1/campaigns/{id}/contacts/{contact_id}"]["get"]
    schema = path["responses"]["200"]["content"]["application/json"]["schema"]
    check_against(spec, schema, await response.json(), "contact detail")  # each key documented


async def test_another_tenants_contact_or_a_missing_one_is_404(api: Api) -> None:
    mine = await api.create_ok("phone_number\n+12125550100\n")
    other = await new_tenant(api.client, "other")
    theirs = await other.create_ok("phone_number\n+12125550101\n")
    db = api.client.app[STORE].db
    their_contact = await db.fetch_value(
        "SELECT k.id FROM contacts k JOIN campaigns c ON c.pk = k.campaign_pk WHERE c.id = ?",
        (theirs["id"],),
    )
    for path in (
        f"/campaigns/{theirs['id']}/contacts/{their_contact}",  # their campaign
        f"/campaigns/{mine['id']}/contacts/{their_contact}",  # their contact, my campaign
        f"/campaigns/{mine['id']}/contacts/999999",
        f"/campaigns/{mine['id']}/contacts/abc",
        f"/campaigns/{mine['id']}/contacts/-1",
        f"/campaigns/{mine['id']}/contacts/{'9' * 40}",
    ):
        response = await api.request("GET", path)
        assert response.status == 404, path
        assert "not found" in (await response.json())["error"]
    response = await other.request("GET", f"/campaigns/{theirs['id']}/contacts/{their_contact}")
    assert response.status == 200


async def test_an_unknown_timezone_is_a_400_naming_its_row_and_adds_nothing(api: Api) -> None:
    response = await api.create("phone_number,timezone\n+12125550100,UTC\n+12125550101,Nowhere\n")
    assert response.status == 400
    body = await response.json()
    assert body["row"] == 3
    assert "unknown IANA time zone 'Nowhere'" in body["error"]
    listed = await (await api.request("GET", "/campaigns")).json()
    assert listed["total"] == 0


async def test_a_timezone_of_etc_unknown_means_the_campaigns_zone(api: Api) -> None:
    body = await api.create_ok(
        "phone_number,timezone\n+12125550100,Etc/Unknown\n+12125550101,\n",
        timezone="Asia/Tokyo",
    )
    assert body["import"]["contacts"] == 2
    listed = await (await api.request("GET", f"/campaigns/{body['id']}/contacts")).json()
    zones = {c["phone_number"]: c["timezones"] for c in listed["contacts"]}
    assert zones == {
        "+12125550100": ["Asia/Tokyo"],  # said unknown: the campaign's, not New York's
        "+12125550101": ["America/New_York"],  # empty: the number's
    }
    first = next(c for c in listed["contacts"] if c["phone_number"] == "+12125550100")
    assert first["custom_fields"] == {"timezone": "Etc/Unknown"}  # still a custom field


async def test_retry_on_is_shown_and_checked(api: Api) -> None:
    assert (await api.create_ok())["retry_on"] == ["busy", "no_answer", "congestion", "failed"]
    assert (await api.create_ok(retry_on="failed,busy"))["retry_on"] == ["busy", "failed"]
    assert (await api.create_ok(retry_on=""))["retry_on"] == []
    response = await api.create(retry_on="busy,lost")
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "retry_on" and "'lost' is never retried" in body["error"]


async def test_amd_fields_are_shown_and_checked(api: Api) -> None:
    plain = await api.create_ok()
    assert (plain["amd"], plain["machine_agent_id"]) == ("off", None)
    on = await api.create_ok(amd="on", machine_agent_id="queue", retry_on="busy,machine")
    assert (on["amd"], on["machine_agent_id"]) == ("on", "queue")
    assert on["retry_on"] == ["busy", "machine"]
    got = await (await api.request("GET", f"/campaigns/{on['id']}")).json()
    assert (got["amd"], got["machine_agent_id"]) == ("on", "queue")
    contacts = await (await api.request("GET", f"/campaigns/{on['id']}/contacts")).json()
    assert all(c["answered_by"] is None and c["amd_cause"] is None for c in contacts["contacts"])
    before = (await (await api.request("GET", "/campaigns")).json())["total"]
    for field, value in [("amd", "yes"), ("amd", ""), ("machine_agent_id", "nobody")]:
        response = await api.create(**{field: value})
        assert response.status == 400, (field, value)
        body = await response.json()
        assert body["field"] == field, body
    assert (await (await api.request("GET", "/campaigns")).json())["total"] == before
