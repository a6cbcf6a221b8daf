"""The SSE fan-out (issue 13, item 8): one store read per campaign per wake-up whatever
the number of streams, a bounded buffer per stream, a stream that falls behind catches
up on its own with every event exactly once, and a per-tenant limit on open streams."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.daemon.app import create_app
from gateway.http import streams
from gateway.http.keys import STORE, STREAMS
from tests.helpers import Api, csv_of, new_tenant, read_sse
from tests.unit.dialer.support import until


def stored(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if "id" in e and "event" in e]


def has_end(events: list[dict[str, Any]]) -> bool:
    return any(e.get("event") == "end" for e in events)


async def count_reads(client: TestClient, api: Api, monkeypatch: pytest.MonkeyPatch,
                      subscribers: int) -> int:  # fmt: skip
    """Store reads of events while `subscribers` streams follow one campaign from its
    start to its stop (3,000 events), all of them reading."""
    cid = (await api.create_ok(csv_of(3000)))["id"]
    store = client.app[STORE].campaigns
    reads = 0
    original = type(store).events_after

    async def events_after(self: Any, pk: int, after: int, limit: int) -> Any:
        nonlocal reads
        reads += 1
        return await original(self, pk, after, limit)

    monkeypatch.setattr(type(store), "events_after", events_after)
    opened = [await api.request("GET", f"/campaigns/{cid}/events") for _ in range(subscribers)]
    await until(lambda: client.app[STREAMS].subscriber_count == subscribers, 5, "subscribed")
    await api.request("POST", f"/campaigns/{cid}/start")
    await api.request("POST", f"/campaigns/{cid}/stop")
    for stream in opened:
        events = await read_sse(stream, has_end, seconds=20)
        assert len(stored(events)) == 3002
    monkeypatch.setattr(type(store), "events_after", original)
    return reads


async def test_one_store_read_per_wake_up_whatever_the_number_of_streams(
    client: TestClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only wake-ups count here: no periodic re-read, and no stream overflows while the
    # test reads the others one after another.
    monkeypatch.setattr(streams, "RESCAN_SECONDS", 3600.0)
    monkeypatch.setattr(streams, "BUFFER_EVENTS", 10_000)
    alone = await count_reads(client, api, monkeypatch, 1)
    crowd = await count_reads(client, api, monkeypatch, 40)
    # Before: every stream read for itself, 40 times as many reads.
    assert crowd <= alone + 3, (alone, crowd)


async def test_a_stream_that_falls_behind_catches_up_with_every_event_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams, "BUFFER_EVENTS", 50)
    monkeypatch.setattr(streams, "READ_BATCH", 64)
    cid = (await api.create_ok(csv_of(2000)))["id"]
    stalled = await api.request("GET", f"/campaigns/{cid}/events", headers={"Last-Event-ID": "0"})
    reading = await api.request("GET", f"/campaigns/{cid}/events")
    await api.request("POST", f"/campaigns/{cid}/start")
    await api.request("POST", f"/campaigns/{cid}/stop")
    fast = stored(await read_sse(reading, has_end, seconds=20))  # not held up by `stalled`
    assert len(fast) == 2002
    late = stored(await read_sse(stalled, has_end, seconds=20))  # now it reads
    ids = [int(e["id"]) for e in late]
    assert ids == list(range(1, len(ids) + 1))  # from the first event, none lost or twice
    assert [e["id"] for e in late[-2002:]] == [e["id"] for e in fast]
    assert json.loads(late[-1]["data"])["to"] == "stopped"


async def test_streams_beyond_the_tenants_limit_are_refused_429(
    aiohttp_client: Any, config: Config
) -> None:
    client = await aiohttp_client(create_app(replace(config, max_streams_per_tenant=3)))
    acme = await new_tenant(client, "acme")
    globex = await new_tenant(client, "globex")
    cid = (await acme.create_ok())["id"]
    other = (await globex.create_ok())["id"]
    opened = [await acme.request("GET", f"/campaigns/{cid}/events") for _ in range(3)]
    assert [r.status for r in opened] == [200] * 3
    refused = await acme.request("GET", f"/campaigns/{cid}/events")
    assert refused.status == 429
    assert "limit" in (await refused.json())["error"]
    assert (await globex.request("GET", f"/campaigns/{other}/events")).status == 200
    opened[0].close()  # leaving frees its place
    await until(lambda: client.app[STREAMS].subscriber_count == 3, 5, "the stream to close")
    again = await acme.request("GET", f"/campaigns/{cid}/events")
    assert again.status == 200


async def test_concurrent_opens_cannot_pass_the_limit_together(
    aiohttp_client: Any, config: Config
) -> None:
    client = await aiohttp_client(create_app(replace(config, max_streams_per_tenant=5)))
    acme = await new_tenant(client, "acme")
    cid = (await acme.create_ok())["id"]
    answers = await asyncio.gather(
        *(acme.request("GET", f"/campaigns/{cid}/events") for _ in range(12))
    )
    assert sorted(r.status for r in answers) == [200] * 5 + [429] * 7


async def test_a_stream_asked_for_during_shutdown_is_refused_not_left_open(
    client: TestClient, api: Api
) -> None:
    cid = (await api.create_ok())["id"]
    client.app[STREAMS].close_all()  # what on_shutdown does; a request arrives after it
    late = await api.request("GET", f"/campaigns/{cid}/events")
    assert late.status == 503
    assert "shutting down" in (await late.json())["error"]
    assert client.app[STREAMS].subscriber_count == 0


async def test_a_history_stream_never_joins_a_feed_closed_while_it_opened(
    client: TestClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the history read was awaited between taking the campaign's feed and joining
    it, so a stream could join a feed its last other stream had just closed, and stall."""
    cid = (await api.create_ok(csv_of(3)))["id"]
    store = client.app[STORE]
    tenant_id = await store.db.fetch_value("SELECT tenant_id FROM campaigns WHERE id = ?", (cid,))
    campaign = await store.campaigns.get(tenant_id, cid)
    assert campaign is not None
    hub = client.app[STREAMS]
    first = await hub.open(campaign, None)
    gate, asked = asyncio.Event(), asyncio.Event()
    original = type(store.campaigns).history_start

    async def history_start(self: Any, pk: int, transitions: int) -> int:
        asked.set()
        await gate.wait()
        return await original(self, pk, transitions)

    monkeypatch.setattr(type(store.campaigns), "history_start", history_start)
    opening = asyncio.create_task(hub.open(campaign, None, history=5))
    await asyncio.wait_for(asked.wait(), 5)
    await hub.close(first)  # the only other stream leaves meanwhile
    gate.set()
    second = await asyncio.wait_for(opening, 5)
    try:
        await api.request("POST", f"/campaigns/{cid}/start")
        taken: list[Any] = []
        await until(lambda: bool(taken.extend(second.take()) or taken), 5,
                    "the stream gets the events of its live feed")  # fmt: skip
    finally:
        await hub.close(second)
