"""The dispatcher over a pool of two Asterisk nodes (two fake Asterisks speaking the AMI
wire format): spreading under each node's caps, a node going away and coming back, a
number carried by one node only, readiness per node. The same on two real Asterisks:
tests/integration/test_nodes.py."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import AsteriskNode, PhoneNumber
from gateway.http.keys import LIVE_STATS, NODE_STATES, READINESS
from tests.helpers import new_tenant
from tests.unit.dialer.harness import (
    Env,
    assert_reconciled_before_dialling,
    command,
    contacts,
    create,
    stored_events,
    wait_contacts,
    wait_status,
)
from tests.unit.dialer.support import FakeAsterisk, number, until


@pytest.fixture
async def fake_b() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk()
    await server.start()
    yield server
    await server.close()


def node(fake: FakeAsterisk, node_id: str, calls: int, cps: float = 100.0) -> AsteriskNode:
    return AsteriskNode(node_id, "127.0.0.1", fake.port, fake.username, fake.secret, calls, cps)


async def pool(
    env: Env, fake_b: FakeAsterisk, a_calls: int = 3, b_calls: int = 5, **overrides: Any
) -> TestClient:
    config = env.config()
    numbers = (*config.phone_numbers, PhoneNumber("only_b", "+15551230009",
                                                  "PJSIP/{number}@carrier", ("b",)))  # fmt: skip
    nodes = (node(env.fake, "a", a_calls), node(fake_b, "b", b_calls))
    config = replace(config, asterisk_nodes=nodes, phone_numbers=numbers, **overrides)
    from gateway.daemon.app import create_app

    return await env.make_client(create_app(config))


def where(fakes: dict[str, FakeAsterisk]) -> dict[str, str]:
    """The node each phone number's Originate reached."""
    return {a.phone: name for name, fake in fakes.items() for a in fake.originates}


async def test_calls_spread_over_both_nodes_under_each_nodes_caps(
    env: Env, fake_b: FakeAsterisk
) -> None:
    a, b = env.fake, fake_b
    a.hold_answered = b.hold_answered = True
    client = await pool(env, b)
    api = await new_tenant(client, "acme", 20, 100)
    phones = [number(i, 0) for i in range(12)]
    cid = await create(api, phones, max_concurrent_calls=20)
    await command(api, cid, "start")
    # 3 + 5 places: 8 calls up at once, the first ones spread least-loaded first.
    await until(lambda: len(a.live()) == 3 and len(b.live()) == 5, 5,
                lambda: f"a {len(a.live())}, b {len(b.live())}")  # fmt: skip
    assert len(a.originates) + len(b.originates) == 8
    states = client.app[NODE_STATES]()
    assert {n: (s["state"], s["calls_in_flight"]) for n, s in states.items()} == {
        "a": ("ready", 3), "b": ("ready", 5),
    }  # fmt: skip
    stats = client.app[READINESS].__self__.live_stats(next(iter(
        client.app[READINESS].__self__._running)))  # fmt: skip
    assert stats["calls_by_node"] == {"a": 3, "b": 5}
    a.hold_answered = b.hold_answered = False
    for fake in (a, b):
        for call in fake.live():
            await fake.hang_up(call.id)
    await wait_status(api, cid, "completed")
    assert a.max_live() == 3 and b.max_live() == 5  # reached, never above
    sent = where({"a": a, "b": b})
    assert sorted(sent) == sorted(phones)  # each once, on one node or the other
    assert len(a.originates) + len(b.originates) == 12
    found = await contacts(api, cid)
    assert {p: c["node"] for p, c in found.items()} == sent
    events = [d for _, kind, d in await stored_events(client, cid) if kind == "contact"]
    assert {(e["phone_number"], e["node"]) for e in events} == set(sent.items())
    response = await api.request("GET", f"/campaigns/{cid}/contacts/{found[phones[0]]['id']}")
    detail = await response.json()
    assert [t["node"] for t in detail["attempts"]] == [sent[phones[0]]]


async def test_a_node_that_goes_away_gets_no_calls_and_its_calls_are_lost_after_the_limit(
    env: Env, fake_b: FakeAsterisk
) -> None:
    a, b = env.fake, fake_b
    b.hold_answered = True
    client = await pool(env, b, a_calls=2, b_calls=2, node_lost_after_seconds=1.0)
    api = await new_tenant(client, "acme", 10, 100)
    phones = [number(i, 0) for i in range(10)]
    cid = await create(api, phones, max_concurrent_calls=4, retries_per_contact=2)
    await command(api, cid, "start")
    await until(lambda: len(b.live()) == 2, 5, lambda: f"b has {len(b.live())} calls up")
    on_b = [call.phone for call in b.live()]
    await wait_contacts(api, cid, lambda c: all(c[p]["status"] == "connected" for p in on_b))
    await b.go_down()
    await until(lambda: client.app[NODE_STATES]()["b"]["state"] == "connecting", 5, "b down")
    assert client.app[READINESS]()["ami"] == ""  # a is still ready
    # a dials the rest; b's two calls hold their places until they are judged lost.
    found = await wait_contacts(api, cid, lambda c: all(
        c[p]["status"] in ("completed", "failed") for p in phones), within=15)  # fmt: skip
    for phone in on_b:  # answered before b went: completed, its talk time unknown
        got = found[phone]
        assert (got["status"], got["last_outcome"], got["talk_seconds"]) == (
            "completed", "answered", None,
        )  # fmt: skip
        assert "node 'b' was unreachable for 1 s" in got["hangup_cause_text"]
        assert got["attempts"] == 1 and got["node"] == "b"
    assert sum(c["status"] == "completed" for c in found.values()) == 10
    assert {p for p, c in found.items() if c["node"] == "a"} == set(phones) - set(on_b)
    await wait_status(api, cid, "completed")
    assert Counter(a.phone for fake in (a, b) for a in fake.originates) == dict.fromkeys(phones, 1)
    assert sorted(call.phone for call in b.originates) == sorted(on_b)

    # b comes back: reconciled first, then dialled. Its two calls, settled while it was
    # away, are still up on it: they hold b's places (its cap is 2) until they hang up.
    b.hold_answered = False
    await b.come_up()
    await until(lambda: client.app[NODE_STATES]()["b"]["state"] == "ready", 10, "b back")
    assert_reconciled_before_dialling(b, 2)
    assert sorted(call.phone for call in b.live()) == sorted(on_b)
    assert client.app[NODE_STATES]()["b"]["calls_in_flight"] == 2
    for call in b.live():
        await b.hang_up(call.id)
    await until(lambda: client.app[NODE_STATES]()["b"]["calls_in_flight"] == 0, 5,
                "b's places freed by the hangups")  # fmt: skip
    assert (await contacts(api, cid))[on_b[0]]["talk_seconds"] is None  # settled, unchanged
    more = [number(i, 1) for i in range(20, 24)]
    second = await create(api, more, max_concurrent_calls=4)
    await command(api, second, "start")
    await wait_status(api, second, "completed")
    assert {call.phone for call in b.originates} & set(more), "b took no call after return"


async def test_a_node_back_within_the_limit_has_its_calls_reconciled_not_lost(
    env: Env, fake_b: FakeAsterisk
) -> None:
    a, b = env.fake, fake_b
    b.hold_answered = True
    client = await pool(env, b, a_calls=1, b_calls=1)
    api = await new_tenant(client, "acme", 10, 100)
    cid = await create(api, [number(1, 0), number(2, 0)], max_concurrent_calls=2)
    await command(api, cid, "start")
    await until(lambda: len(b.live()) == 1, 5, "a call up on b")
    kept = b.live()[0]
    await b.drop()  # the connection breaks; Asterisk and its call stay
    await until(lambda: client.app[NODE_STATES]()["b"]["state"] != "ready", 5, "b seen down")
    await until(lambda: client.app[NODE_STATES]()["b"]["state"] == "ready", 10, "b back")
    await b.hang_up(kept.id)
    await wait_status(api, cid, "completed")
    found = await contacts(api, cid)
    assert (found[kept.phone]["status"], found[kept.phone]["last_outcome"]) == (
        "completed", "answered",
    )  # fmt: skip
    assert found[kept.phone]["talk_seconds"] is not None  # followed to its end
    assert len(a.originates) == 1 and [c.phone for c in b.originates] == [kept.phone]


async def test_a_number_carried_by_one_node_dials_only_through_it(
    env: Env, fake_b: FakeAsterisk
) -> None:
    a, b = env.fake, fake_b
    client = await pool(env, b, a_calls=10, b_calls=2)
    api = await new_tenant(client, "acme", 10, 100)
    phones = [number(i, i % 5) for i in range(8)]
    cid = await create(api, phones, max_concurrent_calls=8, phone_number_id="only_b")
    await command(api, cid, "start")
    await wait_status(api, cid, "completed")
    assert a.originates == [] and len(b.originates) == 8
    assert b.max_live() <= 2
    # b away: the campaign waits (a does not carry its number), readiness still green.
    await b.go_down()
    await until(lambda: client.app[NODE_STATES]()["b"]["state"] == "connecting", 5, "b down")
    waiting = await create(api, [number(30, 0)], phone_number_id="only_b")
    await command(api, waiting, "start")
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body["nodes"]["a"]["state"] == "ready" and body["nodes"]["b"]["state"] == "connecting"
    await until(lambda: "refused" in str(client.app[NODE_STATES]()["b"].get("error")), 10,
                "b's reconnect refused")  # fmt: skip
    body = await (await client.get("/readyz")).json()
    assert body["nodes"]["b"]["error"] == "ConnectionRefusedError: Connection refused"
    assert str(b.port) not in json.dumps(body)  # no key needed: no address shown
    # The campaign's metrics name only the nodes that carry its number.
    dispatcher = client.app[READINESS].__self__
    key = next(k for k in dispatcher._running if k.campaign_id == waiting)
    assert client.app[LIVE_STATS](key)["calls_by_node"] == {"b": 0}
    await a.go_down()
    await until(lambda: client.app[READINESS]()["ami"] != "", 5, "no node ready")
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert "no Asterisk node is ready" in body["checks"]["ami"]
    assert a.originates == []
    await b.come_up()
    await wait_status(api, waiting, "completed", within=15)
    assert a.originates == []
