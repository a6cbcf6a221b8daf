"""The dispatcher end to end without Asterisk: the real app (HTTP API, store on a temp
SQLite file, Dispatcher, AmiTelephony, AmiClient) against a fake Asterisk speaking the AMI
wire format (support.FakeAsterisk). Everything is measured where Asterisk would see it:
the Originates that reach the fake, when, on which connection, and how many of its calls
are live at once.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Agent, PhoneNumber
from gateway.domain.settings import format_time, parse_rfc3339
from gateway.http.keys import READINESS, STORE
from tests.helpers import Api, new_tenant, read_sse
from tests.unit.dialer.harness import (
    QUIET,
    Env,
    OriginateLog,
    assert_each_dialled_once,
    assert_reconciled_before_dialling,
    campaign,
    command,
    contacts,
    create,
    having,
    of_campaign,
    stays,
    stored_events,
    wait_contacts,
    wait_status,
)
from tests.unit.dialer.support import (
    EXPECTED,
    FakeAsterisk,
    digit_of,
    max_in_window,
    number,
    until,
    variables,
)

# -- outcomes, counts and the event log ----------------------------------------------------


async def test_mixed_outcomes_complete_with_exact_counts_causes_and_events(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, i % 10) for i in range(20)]  # two of every outcome
    cid = await create(api, phones, max_concurrent_calls=5)

    # The attempt must be committed before its Originate leaves: look from outside the
    # app, with a plain sqlite3 connection, the moment each Originate reaches the fake.
    reader = sqlite3.connect(env.config().db_path)
    uncommitted: list[str] = []

    def committed(action: Any) -> None:
        row = reader.execute(
            "SELECT status FROM attempts WHERE id = ?", (action["ActionID"],)
        ).fetchone()
        if row is None or row[0] == "ended":
            uncommitted.append(action["ActionID"])

    fake.on_originate.append(committed)
    try:
        stream = await api.request("GET", f"/campaigns/{cid}/events")
        await command(api, cid, "start")
        events = await read_sse(
            stream, lambda ev: any(e.get("event") == "end" for e in ev), seconds=20
        )
    finally:
        reader.close()
    assert uncommitted == []

    assert events[-1]["event"] == "end"
    assert json.loads(events[-1]["data"])["status"] == "completed"
    body = await campaign(api, cid)
    assert body["status"] == "completed"
    assert body["counts"] == {
        "total": 20, "pending": 0, "originated": 0, "connected": 0,
        "completed": 10, "failed": 10, "cancelled": 0,
    }  # fmt: skip
    assert_each_dialled_once(fake.originates, phones)

    found = await contacts(api, cid)
    for phone in phones:
        status, outcome, cause, text, sip = EXPECTED[digit_of(phone)]
        contact = found[phone]
        got = (contact["status"], contact["last_outcome"], contact["hangup_cause"],
               contact["hangup_cause_text"], contact["sip_code"], contact["attempts"])  # fmt: skip
        assert got == (status, outcome, cause, text, sip, 1), phone
        if status == "completed":  # the fake talks 0.2 s
            assert 0.1 <= contact["talk_seconds"] < 1.5, contact
        else:
            assert contact["talk_seconds"] is None

    # The stream is the stored log: every transition, ids strictly increasing.
    streamed = [e for e in events if "id" in e and "event" in e]
    ids = [int(e["id"]) for e in streamed]
    assert ids == sorted(set(ids))
    stored = await stored_events(client, cid)
    assert [(i, t) for i, t, _ in stored] == [(int(e["id"]), e["event"]) for e in streamed]
    transitions: dict[str, list[tuple[str, str]]] = {}
    for _, kind, data in stored:
        if kind == "contact":
            transitions.setdefault(data["phone_number"], []).append((data["from"], data["to"]))
            assert data["campaign_id"] == cid and data["attempt"] == 1
    answered = [("pending", "originated"), ("originated", "connected"), ("connected", "completed")]
    failed = [("pending", "originated"), ("originated", "failed")]
    for phone in phones:
        expected = answered if EXPECTED[digit_of(phone)][0] == "completed" else failed
        assert transitions[phone] == expected, phone
    finals = {
        d["phone_number"]: d
        for _, k, d in stored
        if k == "contact" and d["to"] in ("completed", "failed")
    }
    for phone in phones:
        _, outcome, cause, _, sip = EXPECTED[digit_of(phone)]
        final = finals[phone]
        assert (final["outcome"], final["hangup_cause"], final.get("sip_code")) == (
            outcome, cause, sip,
        ), phone  # fmt: skip
    campaign_moves = [d["to"] for _, k, d in stored if k == "campaign"]
    assert campaign_moves == ["running", "completed"]


# -- caps ----------------------------------------------------------------------------------


async def prepared(env: Env, setup: Callable[[TestClient], Any]) -> TestClient:
    """Run `setup` on an app that cannot dial (no AMI), then start the dialling app on the
    same database: the dispatcher's first look at the campaigns sees the final setup."""
    first = await env.gateway(ami=False)
    await setup(first)
    await first.close()
    return await env.gateway()


async def fill_and_drain(fake: FakeAsterisk, cap: int, total: int) -> None:
    """Drive `total` answered calls through a concurrency `cap`, giving the dispatcher
    every chance to go over it: first the calls are held up while the cap is full for
    longer than a few dial rounds; then they end one at a time, each freed slot being
    refilled (while contacts remain) before the next call ends."""
    fake.hold_answered = True
    await until(lambda: len(fake.live()) == cap, 5, lambda: f"{len(fake.live())} live")
    await stays(lambda: len(fake.live()) <= cap, 0.5, "a call above the cap")  # 2+ rounds
    for ended in range(1, total + 1):
        await fake.hang_up(fake.live()[0].id)
        expect = min(cap, total - ended)

        def refilled(n: int = expect) -> bool:
            return len(fake.live()) == n

        await until(refilled, 5, f"not {expect} calls live again after {ended} ended")
    assert len(fake.originates) == total


async def test_campaign_concurrency_cap_is_never_exceeded(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 20, 50)
    cid = await create(api, [number(i, i % 5) for i in range(8)], max_concurrent_calls=3)
    await command(api, cid, "start")
    await fill_and_drain(fake, 3, 8)
    await wait_status(api, cid, "completed")
    assert fake.max_live(of_campaign(cid)) == 3  # reached, never above


async def test_tenant_concurrency_cap_is_never_exceeded(env: Env) -> None:
    fake = env.fake
    phones = {"a": [number(i, i % 5) for i in range(5)]}
    phones["b"] = [number(i, i % 5) for i in range(5, 10)]
    ids: dict[str, str] = {}
    keys: list[str] = []

    async def setup(client: TestClient) -> None:
        api = await new_tenant(client, "acme", 8, 50)
        keys.append(api.key)
        for name, numbers in phones.items():
            ids[name] = await create(api, numbers, max_concurrent_calls=4)
            await command(api, ids[name], "start")
        # The administrator lowers the tenant's maximum below its running campaigns' sum.
        await client.app[STORE].tenants.update_limits("acme", 3, None)

    client = await prepared(env, setup)
    await fill_and_drain(fake, 3, 10)
    assert fake.max_live() == 3  # both campaigns are the tenant's: reached, never above
    assert fake.max_live(of_campaign(ids["a"])) <= 3 and fake.max_live(of_campaign(ids["b"])) <= 3
    api = Api(client, keys[0])
    for cid in ids.values():
        await wait_status(api, cid, "completed")


async def test_host_concurrency_cap_is_never_exceeded(env: Env) -> None:
    fake = env.fake
    client = await env.gateway(host_max_concurrent_calls=3)
    ids = []
    for index, name in enumerate(("acme", "globex")):
        api = await new_tenant(client, name, 10, 50)
        numbers = [number(i, i % 5) for i in range(index * 5, index * 5 + 5)]
        ids.append((api, await create(api, numbers, max_concurrent_calls=5)))
    for api, cid in ids:
        await command(api, cid, "start")
    await fill_and_drain(fake, 3, 10)
    for api, cid in ids:
        await wait_status(api, cid, "completed")
    assert fake.max_live() == 3


async def test_calls_per_second_caps_hold_in_every_one_second_window(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host 4/s over two tenants of 3/s each; one of acme's campaigns is capped at 2/s.

    Each cap is a token bucket of burst 1 refilled at `rate`: a take needs a whole token
    and leaves none, so two takes are at least 1/rate apart, and n takes span at least
    (n - 1)/rate. n calls fit in a half-open second [t, t + 1) only if (n - 1)/rate < 1,
    i.e. n <= rate for an integer rate: no +1 tolerance is due. Rates stay under the
    dispatcher's 5 wake-ups a second so that a bucket that leaked would show. Timed as the
    gateway writes each Originate: the fake's arrival times add its read jitter, enough
    on a loaded machine to put 5 calls paced 0.25 s apart into 0.999 s."""
    sends = OriginateLog(monkeypatch)
    fake = env.fake
    fake.ring = 0.01  # rejected at once: short calls, the concurrency caps never bind
    client = await env.gateway(host_max_calls_per_second=4.0)
    acme = await new_tenant(client, "acme", 30, 3)
    globex = await new_tenant(client, "globex", 30, 3)
    a1 = await create(acme, [number(i, 7) for i in range(0, 3)], max_calls_per_second=2)
    a2 = await create(acme, [number(i, 7) for i in range(3, 6)])
    g1 = await create(globex, [number(i, 7) for i in range(6, 10)])
    for api, cid in ((acme, a1), (acme, a2), (globex, g1)):
        await command(api, cid, "start")
    for api, cid in ((acme, a1), (acme, a2), (globex, g1)):
        await wait_status(api, cid, "completed", within=15)
    times = {cid: sends.times(cid) for cid in (a1, a2, g1)}
    assert [len(t) for t in times.values()] == [3, 3, 4]
    assert [len(fake.arrivals(of_campaign(cid))) for cid in (a1, a2, g1)] == [3, 3, 4]
    assert max_in_window(times[a1]) <= 2, times[a1]
    assert max_in_window(times[a1] + times[a2]) <= 3, sorted(times[a1] + times[a2])
    assert max_in_window(times[g1]) <= 3, times[g1]
    everything = sends.times()
    assert max_in_window(everything) <= 4, sorted(everything)


async def test_dials_as_fast_as_the_rate_cap_allows(env: Env) -> None:
    """20 calls at a 20/s cap (and nothing else binding) take about a second, not four:
    a token comes every 50 ms and the dispatcher must use it."""
    fake = env.fake
    fake.hold_answered = True  # no call ends: nothing else wakes the dispatcher
    client = await env.gateway()
    api = await new_tenant(client, "acme", 50, 20)
    cid = await create(api, [number(i, 0) for i in range(20)], max_concurrent_calls=20)
    await command(api, cid, "start")
    await until(lambda: len(fake.originates) >= 1, 5, "the first Originate")
    # 19 more at one every 50 ms take 0.95 s: allow 1.5 s.
    await until(
        lambda: len(fake.originates) == 20,
        1.5,
        lambda: (
            f"{len(fake.originates)} of 20 sent in 1.5 s at a 20/s cap, intervals "
            f"{_gaps([a.at for a in fake.originates])}"
        ),
    )
    times = [a.at for a in fake.originates]
    assert max_in_window(times) <= 20


def _gaps(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


async def test_capacity_is_shared_fairly_between_a_tenants_campaigns(env: Env) -> None:
    fake = env.fake
    fake.talk = 0.05
    ids: list[str] = []

    async def setup(client: TestClient) -> None:
        api = await new_tenant(client, "acme", 10, 100)
        for start in (0, 30):
            ids.append(await create(api, [number(i, 0) for i in range(start, start + 30)],
                                    max_concurrent_calls=5))  # fmt: skip
            await command(api, ids[-1], "start")
        await client.app[STORE].tenants.update_limits("acme", 2, None)  # 2 < 5 + 5

    await prepared(env, setup)
    await until(lambda: len(fake.originates) >= 20, 10, lambda: f"{len(fake.originates)} sent")
    first = fake.originates[:20]
    shares = {cid: sum(a.campaign_id == cid for a in first) for cid in ids}
    assert all(8 <= n <= 12 for n in shares.values()), f"first 20 Originates: {shares}"
    assert fake.max_live() <= 2


# -- pause, resume, stop -------------------------------------------------------------------


async def test_pause_stops_dialling_at_once_and_resume_continues(env: Env) -> None:
    fake = env.fake
    fake.hold_answered = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, i % 5) for i in range(6)]
    cid = await create(api, phones, max_concurrent_calls=2)
    await command(api, cid, "start")
    await wait_contacts(api, cid, having("connected", 2))
    # Both slots are taken by calls held up: no Originate can be on its way now.
    assert (await command(api, cid, "pause"))["status"] == "paused"
    sent = len(fake.originates)
    assert sent == 2
    paused_event = max(i for i, k, d in await stored_events(client, cid) if k == "campaign")

    for call in fake.live():  # the calls in flight end while paused: still recorded
        await fake.hang_up(call.id)
    found = await wait_contacts(api, cid, having("completed", 2))
    assert all(c["talk_seconds"] is not None for c in found.values() if c["status"] == "completed")
    later = [(d["from"], d["to"]) for i, k, d in await stored_events(client, cid)
             if k == "contact" and i > paused_event]  # fmt: skip
    assert later == [("connected", "completed")] * 2

    await stays(lambda: len(fake.originates) == sent, QUIET, "an Originate after the pause")
    body = await campaign(api, cid)
    assert body["status"] == "paused" and body["counts"]["pending"] == 4

    fake.hold_answered = False
    await command(api, cid, "resume")
    body = await wait_status(api, cid, "completed")
    assert body["counts"]["completed"] == 6
    assert_each_dialled_once(fake.originates, phones)
    assert fake.max_live(of_campaign(cid)) <= 2


async def test_stop_cancels_pending_and_records_calls_in_flight(env: Env) -> None:
    fake = env.fake
    fake.hold_answered = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, i % 5) for i in range(6)]
    cid = await create(api, phones, max_concurrent_calls=2)
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    await command(api, cid, "start")
    await wait_contacts(api, cid, having("connected", 2))
    stopped = await command(api, cid, "stop")
    assert stopped["status"] == "stopped"
    assert stopped["counts"] == {
        "total": 6, "pending": 0, "originated": 0, "connected": 2,
        "completed": 0, "failed": 0, "cancelled": 4,
    }  # fmt: skip
    sent = len(fake.originates)
    assert sent == 2

    # The stream stays open while the stopped campaign's calls are in flight...
    with pytest.raises(TimeoutError):
        await read_sse(stream, lambda ev: any(e.get("event") == "end" for e in ev), 0.5)
    for call in fake.live():
        await fake.hang_up(call.id)
    # ...and ends once they are recorded, with their transitions before `end`.
    events = await read_sse(stream, lambda ev: any(e.get("event") == "end" for e in ev))
    assert json.loads(events[-1]["data"])["status"] == "stopped"
    done = [json.loads(e["data"]) for e in events if e.get("event") == "contact"]
    assert [d["to"] for d in done].count("completed") == 2
    found = await wait_contacts(api, cid, having("completed", 2))
    assert sorted(c["status"] for c in found.values()) == ["cancelled"] * 4 + ["completed"] * 2
    # Nothing is pending any more; a short look is enough.
    await stays(lambda: len(fake.originates) == sent, 0.5, "an Originate after the stop")
    body = await campaign(api, cid)
    assert body["status"] == "stopped"
    assert body["counts"]["completed"] == 2 and body["counts"]["cancelled"] == 4
    moves = [d["to"] for _, k, d in await stored_events(client, cid) if k == "campaign"]
    assert moves == ["running", "stopped"]  # never "completed" afterwards


# -- retries and refusals ------------------------------------------------------------------


async def test_retry_waits_out_its_delay_and_invalid_numbers_are_never_retried(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    db = client.app[STORE].db
    api = await new_tenant(client, "acme", 10, 50)
    busy, invalid = number(1, 5), number(2, 8)
    cid = await create(
        api, [busy, invalid], retries_per_contact=1, retry_delay_seconds=60, max_concurrent_calls=2
    )
    await command(api, cid, "start")
    found = await wait_contacts(
        api,
        cid,
        lambda c: c[busy]["attempts"] == 1 and c[busy]["status"] == "pending"
        and c[invalid]["status"] == "failed",
    )  # fmt: skip
    assert found[invalid]["last_outcome"] == "invalid_number" and found[invalid]["attempts"] == 1
    assert found[busy]["last_outcome"] == "busy" and found[busy]["sip_code"] == "486"
    ended = parse_rfc3339(found[busy]["updated_at"]).timestamp()
    due = parse_rfc3339(found[busy]["next_attempt_at"]).timestamp()
    assert 59.9 <= due - ended <= 60.1  # retry_delay_seconds after the attempt ended

    # The dispatcher looks at due contacts at least once a second: nothing is re-dialled.
    await stays(lambda: len(fake.originates) == 2, QUIET, "re-dialled before the delay")

    # Waiting 60 s is too slow for a unit test, and faking the clock would have to reach
    # into the store, the dispatcher and the domain rules at once. Instead the test moves
    # the contact's stored due time (what the rule above wrote, and all the dispatcher
    # reads) to 0.4 s from now: the retry must come then, not before.
    retry_at = time.time() + 0.4
    contact_id = found[busy]["id"]
    await db.execute("UPDATE contacts SET next_attempt_at = ? WHERE id = ?", (retry_at, contact_id))
    await until(lambda: len(fake.originates) == 3, 5, "the retry")
    retry = fake.originates[2]
    assert retry.phone == busy and retry.wall >= retry_at
    assert retry.attempt_id.endswith(f"-{contact_id}-2")
    assert retry.attempt_id != fake.originates[0].attempt_id
    body = await wait_status(api, cid, "completed")
    assert body["counts"]["failed"] == 2
    found = await contacts(api, cid)
    assert (found[busy]["status"], found[busy]["attempts"]) == ("failed", 2)
    assert Counter(a.phone for a in fake.originates) == {busy: 2, invalid: 1}


async def test_refused_originate_fails_the_attempt_with_its_reason_and_frees_the_slot(
    env: Env,
) -> None:
    fake = env.fake
    fake.originate_error = "Extension does not exist."
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(3)]
    once = await create(api, phones, max_concurrent_calls=1)
    again = await create(api, [number(9, 0)], retries_per_contact=1, max_concurrent_calls=1)
    await command(api, once, "start")
    await command(api, again, "start")

    body = await wait_status(api, once, "completed")
    # One slot, three contacts: each refusal gave its slot back for the next one.
    assert body["counts"]["failed"] == 3
    assert_each_dialled_once(fake.arrivals(of_campaign(once)), phones)
    for contact in (await contacts(api, once)).values():
        assert (contact["status"], contact["last_outcome"], contact["attempts"]) == (
            "failed", "failed", 1,
        )  # fmt: skip
        assert "Extension does not exist." in contact["hangup_cause_text"]
        assert contact["hangup_cause"] is None and contact["sip_code"] is None
    finals = [d for _, k, d in await stored_events(client, once) if k == "contact"
              and d["to"] == "failed"]  # fmt: skip
    assert len(finals) == 3 and all("Extension does not exist." in d["reason"] for d in finals)

    # With a retry left, a refusal is a failed attempt like any other: retried later.
    found = await wait_contacts(api, again, lambda c: c[number(9, 0)]["attempts"] == 1
                                and c[number(9, 0)]["status"] == "pending")  # fmt: skip
    contact = found[number(9, 0)]
    assert contact["last_outcome"] == "failed"
    due = parse_rfc3339(contact["next_attempt_at"]).timestamp()
    assert due - parse_rfc3339(contact["updated_at"]).timestamp() == pytest.approx(300, abs=0.1)
    assert len(fake.arrivals(of_campaign(again))) == 1


# -- connection loss and restart -----------------------------------------------------------


async def test_ami_drop_mid_campaign_reconciles_and_never_redials(env: Env) -> None:
    fake = env.fake
    fake.hold_answered = fake.hold_ringing = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    up_answered, up_ringing, gone_ringing, unconfirmed = (
        number(1, 0), number(2, 9), number(3, 9), number(4, 1),
    )  # fmt: skip
    later = [number(5, 2), number(6, 3), number(7, 7), number(8, 8)]
    phones = [up_answered, up_ringing, gone_ringing, unconfirmed, *later]
    fake.unanswered_numbers.add(unconfirmed)  # its Originate gets no response at all
    # Retries are allowed: a call lost while away must still never be dialled again.
    cid = await create(api, phones, max_concurrent_calls=4, retries_per_contact=2)
    await command(api, cid, "start")
    await until(lambda: len(fake.originates) == 4 and len(fake.live()) == 3, 5,
                lambda: f"{len(fake.originates)} sent, {len(fake.live())} live")  # fmt: skip
    await wait_contacts(api, cid, lambda c: c[up_answered]["status"] == "connected")
    attempt = {a.phone: a.attempt_id for a in fake.originates}

    await fake.go_down()
    await until(lambda: client.app[READINESS]()["ami"] != "", 5, "the gateway saw the drop")
    fake.vanish(attempt[gone_ringing])  # ended while nobody could hear
    fake.hold_answered = fake.hold_ringing = False
    sent_before = len(fake.originates)
    await fake.come_up()

    found = await wait_contacts(api, cid, lambda c: c[gone_ringing]["status"] == "failed"
                                and c[unconfirmed]["status"] == "failed")  # fmt: skip
    for phone in (gone_ringing, unconfirmed):
        assert (found[phone]["last_outcome"], found[phone]["attempts"]) == ("lost", 1), phone
    assert found[up_answered]["status"] == "connected"
    assert found[up_ringing]["status"] == "originated"
    # The calls still listed are followed to their end.
    await fake.answer(attempt[up_ringing])
    await fake.hang_up(attempt[up_answered])
    await fake.hang_up(attempt[up_ringing])
    body = await wait_status(api, cid, "completed")

    assert body["counts"]["completed"] == 4 and body["counts"]["failed"] == 4
    found = await contacts(api, cid)
    for phone in (up_answered, up_ringing):
        assert (found[phone]["status"], found[phone]["last_outcome"]) == ("completed", "answered")
        assert found[phone]["talk_seconds"] is not None
    for phone in later:
        status, outcome, cause, _, sip = EXPECTED[digit_of(phone)]
        got = found[phone]
        assert (got["status"], got["last_outcome"], got["hangup_cause"], got["sip_code"]) == (
            status, outcome, cause, sip,
        )  # fmt: skip
    assert_each_dialled_once(fake.originates, phones)
    assert [a.connection for a in fake.originates] == [1] * sent_before + [2] * 4
    assert_reconciled_before_dialling(fake, 2)
    # While AMI was down nothing was tried: no attempt was begun and undone.
    stored = await stored_events(client, cid)
    assert [d for _, k, d in stored if d.get("outcome") == "not_sent"] == []
    assert fake.max_live(of_campaign(cid)) <= 4


async def test_restart_mid_campaign_reattaches_live_calls_and_never_redials(env: Env) -> None:
    fake = env.fake
    fake.hold_answered = fake.hold_ringing = True
    first = await env.gateway()
    api = await new_tenant(first, "acme", 10, 50)
    up_answered, up_ringing, gone_ringing, gone_answered = (
        number(1, 0), number(2, 9), number(3, 9), number(4, 1),
    )  # fmt: skip
    later = [number(5, 2), number(6, 3), number(7, 7), number(8, 8)]
    phones = [up_answered, up_ringing, gone_ringing, gone_answered, *later]
    cid = await create(api, phones, max_concurrent_calls=4, retries_per_contact=2)
    await command(api, cid, "start")
    await until(lambda: len(fake.live()) == 4, 5, lambda: f"{len(fake.live())} live")
    await wait_contacts(api, cid, lambda c: c[up_answered]["status"] == "connected"
                        and c[gone_answered]["status"] == "connected")  # fmt: skip
    attempt = {a.phone: a.attempt_id for a in fake.originates}

    await first.close()  # the daemon stops with four calls up
    await until(lambda: fake.listeners == 0, 5, "the first daemon disconnected")
    await fake.hang_up(attempt[gone_ringing])  # both end while no gateway listens
    await fake.hang_up(attempt[gone_answered])
    fake.hold_answered = fake.hold_ringing = False

    second = await env.gateway()
    api = Api(second, api.key)
    found = await wait_contacts(api, cid, lambda c: c[gone_ringing]["status"] == "failed"
                                and c[gone_answered]["status"] == "completed")  # fmt: skip
    assert (found[gone_ringing]["last_outcome"], found[gone_ringing]["attempts"]) == ("lost", 1)
    # An answered call that ended unseen was still answered: completed, talk time unknown.
    assert found[gone_answered]["last_outcome"] == "answered"
    assert found[gone_answered]["talk_seconds"] is None
    await fake.answer(attempt[up_ringing])
    await fake.hang_up(attempt[up_answered])
    await fake.hang_up(attempt[up_ringing])
    body = await wait_status(api, cid, "completed")

    assert body["counts"]["completed"] == 5 and body["counts"]["failed"] == 3
    found = await contacts(api, cid)
    for phone in (up_answered, up_ringing):
        assert (found[phone]["status"], found[phone]["last_outcome"]) == ("completed", "answered")
        assert found[phone]["talk_seconds"] is not None
    for phone in later:
        assert found[phone]["status"] == EXPECTED[digit_of(phone)][0], phone
    assert_each_dialled_once(fake.originates, phones)
    assert_reconciled_before_dialling(fake, max(conn for conn, _ in fake.log))
    assert fake.max_live(of_campaign(cid)) <= 4


# -- when to dial --------------------------------------------------------------------------


async def test_scheduled_campaign_begins_at_scheduled_at_and_not_before(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    await until(lambda: (1, "coreshowchannels") in fake.log, 5, "reconciled")
    at = datetime.now(UTC) + timedelta(seconds=1.0)
    cid = await create(api, [number(1, 0)], scheduled_at=format_time(at))
    assert (await command(api, cid, "start"))["status"] == "scheduled"
    scheduled = parse_rfc3339(format_time(at)).timestamp()
    await until(lambda: len(fake.originates) == 1, 5, "the scheduled call")
    arrived = fake.originates[0].wall
    assert arrived >= scheduled, f"dialled {scheduled - arrived:.3f} s before scheduled_at"
    assert arrived - scheduled < 1.6  # one refresh (1 s) and a dial tick late at most
    body = await wait_status(api, cid, "completed")
    assert parse_rfc3339(body["started_at"]).timestamp() >= scheduled


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


async def test_calling_window_is_honoured_in_the_campaigns_time_zone(env: Env) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    now = datetime.now(UTC)
    # Open now in UTC but closed in Kathmandu (UTC+5:45), and the other way round for
    # Los Angeles: a dispatcher that ignored the time zone would get both wrong.
    ktm = now.astimezone(ZoneInfo("Asia/Kathmandu"))
    closed = await create(
        api, [number(1, 0), number(2, 0)], timezone="Asia/Kathmandu",
        calling_window_start=_hhmm(now - timedelta(hours=1)),
        calling_window_end=_hhmm(now + timedelta(hours=1)),
    )  # fmt: skip
    assert not _within(ktm, now - timedelta(hours=1), now + timedelta(hours=1))
    la = now.astimezone(ZoneInfo("America/Los_Angeles"))
    opened = await create(
        api, [number(3, 0), number(4, 0)], timezone="America/Los_Angeles",
        calling_window_start=_hhmm(la - timedelta(hours=1)),
        calling_window_end=_hhmm(la + timedelta(hours=1)),
    )  # fmt: skip
    await command(api, closed, "start")
    await command(api, opened, "start")
    await wait_status(api, opened, "completed")
    # The open campaign's calls prove the dispatcher looked at both campaigns already.
    await stays(lambda: not fake.arrivals(of_campaign(closed)), 0.5, "dialled out of window")
    body = await campaign(api, closed)
    assert body["status"] == "running" and body["counts"]["pending"] == 2
    assert len(fake.arrivals(of_campaign(opened))) == 2


def _within(local: datetime, start: datetime, end: datetime) -> bool:
    minute = local.hour * 60 + local.minute
    low, high = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    return low <= minute < high if low < high else (minute >= low or minute < high)


# -- the Originate itself ------------------------------------------------------------------


async def test_originate_headers(env: Env) -> None:
    fake = env.fake
    config = env.config()
    client = await env.gateway(
        agents=(*config.agents, Agent("sales-bot", "sales", "200", 3)),
        phone_numbers=(
            *config.phone_numbers,
            PhoneNumber("acme-sales", '"Acme Sales" <+15551230009>', "PJSIP/{number}@trunk-b"),
        ),
    )
    api = await new_tenant(client, "acme", 10, 50)
    phone = number(1, 0)
    table = f'phone_number,first name,1st-col,note\n{phone},Ann,x,"Smith, ""Jr"" (VIP) [a\\b]"\n'
    body = await api.create_ok(
        table, agent_id="sales-bot", phone_number_id="acme-sales", ring_timeout_seconds=17
    )
    cid = body["id"]
    assert body["custom_field_names"] == ["first name", "1st-col", "note"]
    await command(api, cid, "start")
    await wait_status(api, cid, "completed")
    [arrival] = fake.originates
    action = arrival.action
    [contact] = (await contacts(api, cid)).values()
    attempt_id = await client.app[STORE].db.fetch_value(
        "SELECT id FROM attempts WHERE contact_id = ?", (contact["id"],)
    )
    assert action["ActionID"] == action["ChannelId"] == attempt_id
    assert action["Async"] == "true"
    assert action["Timeout"] == "17000"
    assert action["Channel"] == f"PJSIP/{phone}@trunk-b"
    assert action["CallerID"] == '"Acme Sales" <+15551230009>'
    assert (action["Context"], action["Exten"], action["Priority"]) == ("sales", "200", "3")
    assert len(action.get_all("Variable")) == 7  # one header per variable
    assert variables(action) == {
        "CF_first_name": "Ann",
        "CF_1st_col": "x",
        # \ " , ( ) [ ] each get a backslash: Asterisk removes it and keeps the character.
        "CF_note": 'Smith\\, \\"Jr\\" \\(VIP\\) \\[a\\\\b\\]',
        "GATEWAY_PHONE_NUMBER": phone,
        "CONTACT_ID": str(contact["id"]),
        "CAMPAIGN_ID": cid,
        "ATTEMPT_ID": attempt_id,
    }
