"""Lawful dialling through the real dispatcher and store, with a fake Asterisk at the AMI
boundary (issue 7): each contact's window in its own zones, decided from the real clock;
do-not-call lists at upload and dial time; retry_on; the trail of decisions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.domain.settings import parse_rfc3339
from gateway.http import sse
from gateway.http.keys import STORE
from tests.helpers import Api, new_tenant, read_sse
from tests.unit.dialer.harness import (
    QUIET,
    Env,
    command,
    contacts,
    stays,
    stored_events,
    wait_contacts,
    wait_status,
)
from tests.unit.dialer.support import number, until
from tests.zones_now import next_local, zone_at

HOURS = "08:00-21:00"


async def detail(api: Api, cid: str, contact_id: int) -> dict[str, Any]:
    response = await api.request("GET", f"/campaigns/{cid}/contacts/{contact_id}")
    body = await response.json()
    assert response.status == 200, body
    return dict(body)


async def create_rows(api: Api, header: str, rows: list[str], **fields: Any) -> dict[str, Any]:
    return await api.create_ok(header + "\n" + "".join(f"{r}\n" for r in rows), **fields)


async def test_a_contact_at_3am_waits_for_8am_while_one_at_noon_is_dialled(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "METRICS_INTERVAL", 0.2)
    fake = env.fake
    client = await env.gateway(calling_hours=HOURS)
    api = await new_tenant(client, "acme", 10, 50)
    now = datetime.now(UTC)
    night, noon = zone_at(3, now), zone_at(12, now)
    early = [number(i, 0) for i in range(3)]
    awake = [number(i, 0) for i in range(10, 13)]
    rows = [f"{p},{night}" for p in early] + [f"{p},{noon}" for p in awake]
    body = await create_rows(api, "phone_number,timezone", rows)
    cid = body["id"]
    assert body["custom_field_names"] == ["timezone"]  # the column stays a custom field
    await command(api, cid, "start")

    found = await wait_contacts(api, cid, lambda c: all(
        c[p]["status"] == "completed" for p in awake))  # fmt: skip
    await stays(lambda: {a.phone for a in fake.originates} == set(awake), QUIET,
                "only the contacts inside their window are dialled")  # fmt: skip
    opens = next_local(night, 8, now)
    for phone in early:
        contact = found[phone]
        assert (contact["status"], contact["attempts"]) == ("pending", 0)
        assert contact["timezones"] == [night]
        assert abs(parse_rfc3339(contact["next_attempt_at"]) - opens) < timedelta(seconds=1)
        trail = await detail(api, cid, contact["id"])
        assert [d["decision"] for d in trail["decisions"]] == ["deferred_window"]  # once
        assert f"outside {HOURS} in {night} until" in trail["decisions"][0]["detail"]
        assert trail["attempts"] == []
    for phone in awake:
        trail = await detail(api, cid, found[phone]["id"])
        assert [d["decision"] for d in trail["decisions"]] == ["dialled"]
        # 12:xx local (13:00 if the hour turned meanwhile), in its zone
        assert re.search(f"inside {HOURS} at 1[23]:[0-5][0-9] {re.escape(noon)}$",
                         trail["decisions"][0]["detail"]), trail["decisions"]  # fmt: skip
        assert [(a["number"], a["outcome"]) for a in trail["attempts"]] == [(1, "answered")]

    # What a client sees: the stream's metrics event counts the three that wait.
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    assert stream.status == 200

    def waiting(events: list[dict[str, Any]]) -> list[Any]:
        return [json.loads(e["data"])["waiting_for_window"]
                for e in events if e.get("event") == "metrics"]  # fmt: skip

    seen = waiting(await read_sse(stream, lambda ev: 3 in waiting(ev), 10))
    assert seen[-1] == 3, seen
    stream.close()
    assert (await wait_status(api, cid, "running"))["counts"]["pending"] == 3


async def test_campaign_window_applies_in_each_contacts_zone_and_cannot_widen_the_hours(
    env: Env,
) -> None:
    """A campaign window of 00:00-23:59 cannot widen the operator's hours; a campaign
    window that is closed now holds back contacts whose hours are open."""
    fake = env.fake
    client = await env.gateway(calling_hours=HOURS)
    api = await new_tenant(client, "acme", 10, 50)
    now = datetime.now(UTC)
    wide = await create_rows(api, "phone_number,timezone",
                             [f"{number(1, 0)},{zone_at(3, now)}",
                              f"{number(2, 0)},{zone_at(12, now)}"],
                             calling_window_start="00:00", calling_window_end="23:59")  # fmt: skip
    row = f"{number(3, 0)},{zone_at(12, now)}"
    narrow = await create_rows(
        api, "phone_number,timezone", [row], calling_window_start="14:00",
        calling_window_end="15:00",
    )  # fmt: skip
    for body in (wide, narrow):
        await command(api, body["id"], "start")
    await wait_contacts(api, wide["id"], lambda c: c[number(2, 0)]["status"] == "completed")
    await stays(lambda: {a.phone for a in fake.originates} == {number(2, 0)}, QUIET,
                "neither the 3am contact nor the one before its campaign's window")  # fmt: skip
    held = (await contacts(api, narrow["id"]))[number(3, 0)]
    trail = await detail(api, narrow["id"], held["id"])
    assert f"outside 14:00-15:00 in {zone_at(12, now)}" in trail["decisions"][0]["detail"]


async def test_contacts_outside_their_window_do_not_block_the_others(env: Env) -> None:
    """The first 40 rows wait; the 10 after them are dialled at once (no head-of-line
    blocking), each waiting contact deferred once."""
    fake = env.fake
    client = await env.gateway(calling_hours=HOURS)
    api = await new_tenant(client, "acme", 10, 100)
    now = datetime.now(UTC)
    waiting = [number(i, 0) for i in range(40)]
    callable_ = [number(i, 0) for i in range(100, 110)]
    rows = [f"{p},{zone_at(3, now)}" for p in waiting] + [
        f"{p},{zone_at(12, now)}" for p in callable_
    ]
    cid = (await create_rows(api, "phone_number,timezone", rows, max_concurrent_calls=2))["id"]
    await command(api, cid, "start")
    await wait_contacts(api, cid, lambda c: all(c[p]["status"] == "completed" for p in callable_))
    assert {a.phone for a in fake.originates} == set(callable_)
    counts = await client.app[STORE].db.fetch_all(
        "SELECT decision, count(*) FROM decisions GROUP BY decision ORDER BY decision"
    )
    assert [tuple(r) for r in counts] == [("deferred_window", 40), ("dialled", 10)]


async def test_numbers_on_a_do_not_call_list_at_upload_are_never_dialled(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    other = await new_tenant(client, "other", 10, 50)
    db = client.app[STORE].db
    acme_id = await db.fetch_value("SELECT id FROM tenants WHERE name = 'acme'")
    other_id = await db.fetch_value("SELECT id FROM tenants WHERE name = 'other'")
    phones = [number(i, 0) for i in range(5)]
    listed = {phones[0]: acme_id, phones[1]: 0, phones[2]: other_id}  # tenant, host, other
    for phone, tenant in listed.items():
        await db.execute(
            "INSERT INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, ?, 'test', '2026-12-01T00:00:00Z')",
            (phone, tenant),
        )
    body = await create_rows(api, "phone_number", phones)
    assert body["import"]["dnc"] == 2  # not the other tenant's number
    assert (body["counts"]["failed"], body["counts"]["pending"]) == (2, 3)
    cid = body["id"]
    found = await contacts(api, cid)
    for phone, where in ((phones[0], "tenant's"), (phones[1], "host-wide")):
        contact = found[phone]
        assert (contact["status"], contact["last_outcome"]) == ("failed", "do_not_call")
        trail = await detail(api, cid, contact["id"])
        assert [d["decision"] for d in trail["decisions"]] == ["skipped_dnc"]
        assert f"on the {where} do-not-call list at upload" == trail["decisions"][0]["detail"]
    await command(api, cid, "start")
    await wait_status(api, cid, "completed")
    assert sorted(a.phone for a in fake.originates) == sorted(phones[2:])
    # The other tenant's own upload of its listed number is refused for it alone.
    theirs = await create_rows(other, "phone_number", [phones[2], phones[3]])
    assert theirs["import"]["dnc"] == 1


async def test_a_number_listed_while_the_campaign_waits_is_never_dialled(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(3)]
    body = await create_rows(api, "phone_number", phones)
    cid = body["id"]
    assert body["import"]["dnc"] == 0
    tenant_id = await client.app[STORE].db.fetch_value(
        "SELECT tenant_id FROM campaigns WHERE id = ?", (cid,)
    )
    await client.app[STORE].db.execute(
        "INSERT INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
        " VALUES (?, ?, 'asked by letter', '2026-12-01T00:00:00Z')",
        (phones[1], tenant_id),
    )
    await command(api, cid, "start")
    body = await wait_status(api, cid, "completed")
    assert (body["counts"]["completed"], body["counts"]["failed"]) == (2, 1)
    assert sorted(a.phone for a in fake.originates) == sorted([phones[0], phones[2]])
    contact = (await contacts(api, cid))[phones[1]]
    assert (contact["status"], contact["last_outcome"], contact["attempts"]) == (
        "failed",
        "do_not_call",
        0,
    )
    trail = await detail(api, cid, contact["id"])
    assert [d["decision"] for d in trail["decisions"]] == ["skipped_dnc"]
    assert "when its turn came" in trail["decisions"][0]["detail"]


async def test_a_stored_number_that_no_longer_reads_as_itself_is_never_dialled(
    env: Env,
) -> None:
    """Numbers as an older reader stored them (a contact whose call was up at the
    upgrade keeps its number until its turn comes again): read again before each dial."""
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(4)]
    cid = (await create_rows(api, "phone_number", phones))["id"]
    db = client.app[STORE].db
    stored = {  # Belarus as an older reader wrote it; no such +1 number; a UK personal
        phones[1]: "+3750294911911",  # number, stored while the operator allowed premium
        phones[2]: "+11551234567",
        phones[3]: "+447012345678",
    }
    for phone, old in stored.items():
        await db.execute("UPDATE contacts SET phone_number = ? WHERE phone_number = ?",
                         (old, phone))  # fmt: skip
    await command(api, cid, "start")
    body = await wait_status(api, cid, "completed")
    assert (body["counts"]["completed"], body["counts"]["failed"]) == (1, 3)
    assert [a.phone for a in fake.originates] == [phones[0]]
    found = await contacts(api, cid)
    expected = {
        "+3750294911911": "its stored number +3750294911911 reads as +375294911911 now",
        "+11551234567": "its stored number is refused now: not a valid number"
        " (libphonenumber knows no such +1 number): '+11551234567'",
        "+447012345678": "its stored number is refused now: a personal (follow-me) number,"
        " which costs the caller more than an ordinary call (allowed only with [contacts]"
        " allow_premium = true): '+447012345678'",
    }
    for old, why in expected.items():
        contact = found[old]
        assert (contact["status"], contact["last_outcome"], contact["attempts"]) == (
            "failed",
            "invalid_number",
            0,
        )
        trail = await detail(api, cid, contact["id"])
        assert [(d["decision"], d["detail"]) for d in trail["decisions"]] == [("not_retried", why)]


async def test_premium_numbers_are_dialled_when_the_operator_allows_them(env: Env) -> None:
    """`[contacts] allow_premium = true` reaches the re-read before each dial too, not only
    the upload: with it, the numbers the test above fails are dialled."""
    fake = env.fake
    client = await env.gateway(allow_premium=True)
    api = await new_tenant(client, "acme", 10, 50)
    premium = ["+19002345670", "+447012345670"]  # premium-rate; personal (follow-me)
    cid = (await create_rows(api, "phone_number", premium))["id"]
    await command(api, cid, "start")
    await wait_status(api, cid, "completed")
    assert sorted(a.phone for a in fake.originates) == sorted(premium)


async def test_retry_on_chooses_the_outcomes_retried(env: Env) -> None:
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    busy, silent, wrong = number(1, 5), number(2, 6), number(3, 8)
    body = await create_rows(api, "phone_number", [busy, silent, wrong],
                             retries_per_contact=2, retry_on="no_answer")  # fmt: skip
    assert body["retry_on"] == ["no_answer"]
    cid = body["id"]
    await command(api, cid, "start")
    found = await wait_contacts(api, cid, lambda c: c[silent]["status"] == "pending"
                                and c[busy]["status"] == "failed"
                                and c[wrong]["status"] == "failed")  # fmt: skip
    trails = {p: await detail(api, cid, found[p]["id"]) for p in (busy, silent, wrong)}
    assert [d["decision"] for d in trails[busy]["decisions"]] == ["dialled", "not_retried"]
    assert "busy is not in retry_on (no_answer)" in trails[busy]["decisions"][1]["detail"]
    assert trails[wrong]["decisions"][1]["detail"].startswith("invalid_number is never retried")
    decided = trails[silent]["decisions"][1]
    assert decided["decision"] == "retry_scheduled"
    assert "no_answer; attempt 2 of 3 due at" in decided["detail"]
    attempt = trails[silent]["attempts"][0]
    assert (attempt["outcome"], attempt["sip_code"], attempt["hangup_cause"]) == (
        "no_answer",
        "480",
        19,
    )


async def test_stop_records_cancelled_decisions(env: Env) -> None:
    client = await env.gateway(ami=False)
    api = await new_tenant(client, "acme", 10, 50)
    cid = (await create_rows(api, "phone_number", [number(i, 0) for i in range(3)]))["id"]
    await command(api, cid, "stop")
    found = await contacts(api, cid)
    for contact in found.values():
        trail = await detail(api, cid, contact["id"])
        assert contact["status"] == "cancelled"
        assert [(d["decision"], d["detail"]) for d in trail["decisions"]] == [
            ("cancelled", "the campaign was stopped")
        ]
    assert len(found) == 3


async def test_a_number_listed_while_it_waits_in_the_queue_is_never_dialled(env: Env) -> None:
    """Two places, four contacts: the third and fourth are read into the dispatcher's queue
    when the first call ends; the fourth is listed while it waits there, and the check
    inside the transaction that begins its attempt refuses it."""
    fake = env.fake
    fake.hold_answered = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    a, b, c, d = (number(i, 0) for i in range(4))
    cid = (await create_rows(api, "phone_number", [a, b, c, d], max_concurrent_calls=2))["id"]
    await command(api, cid, "start")
    await until(lambda: {x.phone for x in fake.originates} == {a, b}, 5, "a and b dialled")
    await until(lambda: all(x.answered for x in fake.calls.values()), 5, "both answered")
    first = next(x for x in fake.originates if x.phone == a)
    await fake.hang_up(first.attempt_id)
    await until(lambda: c in {x.phone for x in fake.originates}, 5, "c dialled")
    tenant_id = await client.app[STORE].db.fetch_value("SELECT id FROM tenants")
    await client.app[STORE].db.execute(
        "INSERT INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
        " VALUES (?, ?, 'asked by phone', '2026-12-01T00:00:00Z')",
        (d, tenant_id),
    )
    for call in [x for x in fake.originates if x.phone in (b, c)]:
        await until(lambda call=call: fake.calls[call.attempt_id].answered, 5, "answered")
        await fake.hang_up(call.attempt_id)
    body = await wait_status(api, cid, "completed")
    assert (body["counts"]["completed"], body["counts"]["failed"]) == (3, 1)
    assert d not in {x.phone for x in fake.originates}
    assert (await contacts(api, cid))[d]["last_outcome"] == "do_not_call"


async def test_an_opt_out_during_the_call_lists_the_number_for_its_tenant_once(
    env: Env,
) -> None:
    """UserEvent(GatewayOptOut) on the answered channel, as the dialplan raises it (the
    real one is in tests/transcripts/opt_out.ami): the tenant's list, the contact, the
    event; a second one changes nothing."""
    fake = env.fake
    fake.hold_answered = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phone = number(1, 0)
    cid = (await create_rows(api, "phone_number", [phone]))["id"]
    await command(api, cid, "start")
    await until(lambda: any(x.answered for x in fake.calls.values()), 5, "the call answered")
    [call] = fake.calls.values()
    for _ in range(2):  # the second is a replay: nothing more
        await fake.send_event(fake._event(call, "UserEvent", UserEvent="GatewayOptOut"))
    await fake.hang_up(call.id)
    await wait_status(api, cid, "completed")
    contact = (await contacts(api, cid))[phone]
    assert (contact["status"], contact["opted_out"]) == ("completed", True)
    db = client.app[STORE].db
    listed = await db.fetch_all("SELECT phone_number, tenant_id, reason FROM dnc_numbers")
    tenant_id = await db.fetch_value("SELECT id FROM tenants")
    assert [tuple(r) for r in listed] == [(phone, tenant_id, "opt-out during call")]
    events = [(kind, data) for _, kind, data in await stored_events(client, cid)]
    opt_outs = [data for kind, data in events if kind == "opt_out"]
    assert len(opt_outs) == 1
    assert {k: opt_outs[0][k] for k in ("campaign_id", "contact_id", "phone_number")} == {
        "campaign_id": cid,
        "contact_id": contact["id"],
        "phone_number": phone,
    }
    kinds = [k for k, d in events if k != "campaign"]
    assert kinds.index("opt_out") < len(kinds) - 1  # before the call's end was recorded
