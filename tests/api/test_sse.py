"""The live event stream: ids, replay with Last-Event-ID, metrics, heartbeat, end."""

import asyncio
import json

import pytest

from gateway.daemon.app import create_app
from gateway.http import sse
from gateway.http.keys import STREAMS
from tests.helpers import Api, csv_of, new_tenant, read_sse
from tests.unit.dialer.support import until


def stored(events: list[dict]) -> list[dict]:
    return [e for e in events if "id" in e and "event" in e]  # not the id-only opener


def has_end(events: list[dict]) -> bool:
    return any(e.get("event") == "end" for e in events)


async def test_transitions_metrics_and_end(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "METRICS_INTERVAL", 0.1)
    cid = (await api.create_ok(csv_of(3)))["id"]
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    assert stream.status == 200
    assert stream.headers["Content-Type"] == "text/event-stream"
    await api.request("POST", f"/campaigns/{cid}/start")
    events = await read_sse(stream, lambda ev: sum(e.get("event") == "metrics" for e in ev) >= 2)
    metrics = json.loads(next(e for e in events if e.get("event") == "metrics")["data"])
    assert metrics["status"] == "running" and metrics["counts"]["pending"] == 3
    assert {"in_flight", "calls_per_second", "answer_rate", "average_talk_seconds"} <= set(metrics)
    await api.request("POST", f"/campaigns/{cid}/stop")
    events += await read_sse(stream, has_end)
    ids = [int(e["id"]) for e in stored(events)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    kinds = [(e["event"], json.loads(e["data"])["to"]) for e in stored(events)]
    assert kinds == [
        ("campaign", "running"),
        ("contact", "cancelled"),
        ("contact", "cancelled"),
        ("contact", "cancelled"),
        ("campaign", "stopped"),
    ]
    contact = json.loads(stored(events)[1]["data"])
    assert set(contact) >= {
        "campaign_id", "contact_id", "phone_number", "from", "to", "attempt",
        "hangup_cause", "time",
    }  # fmt: skip
    assert contact["from"] == "pending" and contact["phone_number"] == "+14155550000"
    assert events[-1]["event"] == "end"
    assert json.loads(events[-1]["data"])["status"] == "stopped"
    assert await stream.content.read() == b""  # the server closed the stream


async def test_last_event_id_replays_what_was_missed(api: Api) -> None:
    cid = (await api.create_ok(csv_of(5)))["id"]
    await api.request("POST", f"/campaigns/{cid}/start")
    await api.request("POST", f"/campaigns/{cid}/pause")
    everything = await api.request(
        "GET", f"/campaigns/{cid}/events", headers={"Last-Event-ID": "0"}
    )
    first = stored(await read_sse(everything, lambda ev: len(stored(ev)) >= 2))
    assert [json.loads(e["data"])["to"] for e in first] == ["running", "paused"]
    everything.close()
    await api.request("POST", f"/campaigns/{cid}/stop")
    again = await api.request(
        "GET", f"/campaigns/{cid}/events", headers={"Last-Event-ID": first[0]["id"]}
    )
    rest = await read_sse(again, has_end)
    tos = [json.loads(e["data"])["to"] for e in stored(rest)]
    assert tos == ["paused"] + ["cancelled"] * 5 + ["stopped"]
    by_query = await api.request("GET", f"/campaigns/{cid}/events?last_event_id={first[1]['id']}")
    assert len(stored(await read_sse(by_query, has_end))) == 6
    bad = await api.request("GET", f"/campaigns/{cid}/events", headers={"Last-Event-ID": "x"})
    assert bad.status == 400


async def test_history_starts_with_the_last_transitions(api: Api) -> None:
    """?history=N (the dashboard's live log): a fresh stream first replays the campaign's
    last N contact transitions, and whatever was stored after the first of them."""
    cid = (await api.create_ok(csv_of(5)))["id"]
    await api.request("POST", f"/campaigns/{cid}/start")
    await api.request("POST", f"/campaigns/{cid}/stop")
    everything = await api.request(
        "GET", f"/campaigns/{cid}/events", headers={"Last-Event-ID": "0"}
    )
    every = stored(await read_sse(everything, has_end))
    assert [json.loads(e["data"])["to"] for e in every] == ["running"] + ["cancelled"] * 5 + [
        "stopped"
    ]
    last3 = await api.request("GET", f"/campaigns/{cid}/events?history=3")
    events = await read_sse(last3, has_end)
    assert stored(events) == every[3:]  # the last 3 cancellations, then the stop
    assert events[0] == {"retry": "2000", "id": str(int(every[3]["id"]) - 1)}
    more = await api.request("GET", f"/campaigns/{cid}/events?history=1000")
    assert stored(await read_sse(more, has_end)) == every
    # A reconnect's Last-Event-ID wins over history: it resumes where it was.
    resumed = await api.request(
        "GET", f"/campaigns/{cid}/events?history=3", headers={"Last-Event-ID": every[5]["id"]}
    )
    assert stored(await read_sse(resumed, has_end)) == every[6:]
    for bad in ("0", "1001", "x", "-1", "1e3", "\u0663", "", "0" * 5000):
        response = await api.request("GET", f"/campaigns/{cid}/events?history={bad}")
        assert response.status == 400, bad
        assert "history" in (await response.json())["error"]


async def test_fresh_client_on_a_finished_campaign_gets_end_at_once(api: Api) -> None:
    cid = (await api.create_ok())["id"]
    await api.request("POST", f"/campaigns/{cid}/stop")
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    events = await read_sse(stream, has_end, seconds=3)
    assert not stored(events) and has_end(events)
    assert events[0] == {"retry": "2000", "id": "2"}  # its position: the last stored event


async def test_deleting_a_watched_campaign_ends_its_stream(api: Api) -> None:
    cid = (await api.create_ok())["id"]
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    await read_sse(stream, lambda ev: bool(ev), seconds=3)
    assert (await api.request("DELETE", f"/campaigns/{cid}")).status == 204
    events = await read_sse(stream, has_end, seconds=5)
    assert json.loads(events[-1]["data"])["status"] == "deleted"


async def test_heartbeat_comment(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "HEARTBEAT_INTERVAL", 0.05)
    cid = (await api.create_ok())["id"]
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    events = await read_sse(stream, lambda ev: sum("comment" in e for e in ev) >= 2, seconds=3)
    assert [e["comment"] for e in events if "comment" in e][:2] == ["heartbeat", "heartbeat"]


async def test_slow_subscriber_holds_up_nobody(api: Api) -> None:
    cid = (await api.create_ok(csv_of(30000)))["id"]
    slow = await api.request("GET", f"/campaigns/{cid}/events")  # never read
    fast = await api.request("GET", f"/campaigns/{cid}/events")
    await api.request("POST", f"/campaigns/{cid}/start")
    async with asyncio.timeout(20):
        stopped = await api.request("POST", f"/campaigns/{cid}/stop")
    assert stopped.status == 200
    events = await read_sse(fast, has_end, seconds=30)
    assert len(stored(events)) == 30000 + 2
    assert slow.status == 200  # still open, still unread, and nobody waited for it
    slow.close()


async def test_replay_survives_a_daemon_restart(aiohttp_client, config) -> None:  # type: ignore[no-untyped-def]
    first = await aiohttp_client(create_app(config))
    api = await new_tenant(first, "acme")
    cid = (await api.create_ok(csv_of(2)))["id"]
    await api.request("POST", f"/campaigns/{cid}/start")
    await api.request("POST", f"/campaigns/{cid}/stop")
    await first.close()
    second = await aiohttp_client(create_app(config))
    again = await second.get(
        f"/api/v1/campaigns/{cid}/events", headers={**api.headers, "Last-Event-ID": "1"}
    )
    events = await read_sse(again, has_end)
    assert [int(e["id"]) for e in stored(events)] == [2, 3, 4]


async def test_shutdown_closes_streams(aiohttp_client, config) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(config))
    api = await new_tenant(client, "acme")
    cid = (await api.create_ok())["id"]
    stream = await api.request("GET", f"/campaigns/{cid}/events")
    await until(lambda: client.app[STREAMS].subscriber_count == 1, 5, "the stream open")
    client.app[STREAMS].close_all()  # what on_shutdown does
    async with asyncio.timeout(5):
        assert await stream.content.read() is not None
    await until(lambda: client.app[STREAMS].subscriber_count == 0, 5, "the stream closed")
