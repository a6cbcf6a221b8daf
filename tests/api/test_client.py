"""gateway.client (blocking and async) against a real `gateway serve` subprocess."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.client import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    Event,
    GatewayConnectionError,
    GatewayError,
    NotFoundError,
    SSEParser,
)
from tests.daemon_fixture import CSV, Daemon, Proxy, daemon, free_port, own_daemon

assert daemon and own_daemon  # fixtures, used by name


@pytest.fixture
def client(daemon: Daemon) -> Any:
    with Client(daemon.url, daemon.key, timeout=10) as c:
        yield c


def stored(events: list[Event]) -> list[int]:
    return [e.id for e in events if e.id is not None]


def test_every_method_blocking(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(CSV)
    by_path = client.campaigns.create("by path", contacts=path, max_concurrent_calls=2)
    assert by_path["status"] == "draft" and by_path["counts"]["total"] == 3
    assert by_path["import"] == {
        "rows": 3,
        "contacts": 3,
        "duplicates": 0,
        "duplicate_rows": [],
        "dnc": 0,
    }
    assert by_path["custom_field_names"] == ["first_name"]
    with path.open("rb") as csv:
        by_file = client.campaigns.create(
            "by file",
            agent_id="queue",
            phone_number_id="main",
            contacts=csv,
            retries_per_contact=2,
            retry_delay_seconds=120,
            max_calls_per_second=1.5,
            ring_timeout_seconds=20,
            timezone="Europe/Paris",
            calling_window_start="09:00",
            calling_window_end="18:30",
            retry_on=["no_answer", "busy"],
            amd=True,
            machine_agent_id="ivr",
        )
    assert (by_file["amd"], by_file["machine_agent_id"]) == ("on", "ivr")
    assert (by_file["agent_id"], by_file["retries_per_contact"]) == ("queue", 2)
    assert by_file["retry_on"] == ["busy", "no_answer"]
    assert (by_file["retry_delay_seconds"], by_file["max_calls_per_second"]) == (120, 1.5)
    assert (by_file["ring_timeout_seconds"], by_file["timezone"]) == (20, "Europe/Paris")
    assert (by_file["calling_window_start"], by_file["calling_window_end"]) == ("09:00", "18:30")
    by_bytes = client.campaigns.create("by bytes", contacts=b"phone_number\n+14155550199\n")
    assert by_bytes["counts"]["total"] == 1

    assert client.campaigns.get(by_path["id"])["name"] == "by path"
    listed = client.campaigns.list()
    ids = {c["id"] for c in listed["campaigns"]}
    assert {by_path["id"], by_file["id"], by_bytes["id"]} <= ids
    assert listed["total"] >= 3
    assert len(client.campaigns.list(limit=1)["campaigns"]) == 1
    assert (
        client.campaigns.list(limit=1, offset=1)["campaigns"]
        != client.campaigns.list(limit=1)["campaigns"]
    )
    assert (
        client.campaigns.list(limit=2, page=2)["campaigns"]
        == client.campaigns.list(limit=2, offset=2)["campaigns"]
    )

    cid = by_path["id"]
    contacts = client.campaigns.list_contacts(cid)
    assert contacts["total"] == 3
    assert [c["custom_fields"]["first_name"] for c in contacts["contacts"]] == [
        "Ada",
        "Grace",
        "Linus",
    ]
    assert len(client.campaigns.list_contacts(cid, limit=2)["contacts"]) == 2
    assert client.campaigns.list_contacts(cid, limit=2, page=2)["contacts"][0]["phone_number"] == (
        "+14155550102"
    )
    assert client.campaigns.list_contacts(cid, status="pending", offset=1)["total"] == 3

    assert client.campaigns.start(cid)["status"] == "running"
    assert client.campaigns.pause(cid)["status"] == "paused"
    assert client.campaigns.resume(cid)["status"] == "running"
    stopped = client.campaigns.stop(cid)
    assert stopped["status"] == "stopped" and stopped["counts"]["cancelled"] == 3
    assert client.campaigns.stop(cid)["status"] == "stopped"  # idempotent
    assert client.campaigns.list_contacts(cid, status="cancelled")["total"] == 3
    first = contacts["contacts"][0]
    trail = client.campaigns.get_contact(cid, first["id"])
    assert (trail["id"], trail["attempts"]) == (first["id"], [])
    assert [d["decision"] for d in trail["decisions"]] == ["cancelled"]
    with pytest.raises(NotFoundError):
        client.campaigns.get_contact(cid, 10**9)
    assert client.campaigns.delete(cid) is None
    with pytest.raises(NotFoundError):
        client.campaigns.get(cid)


async def test_every_method_async(daemon: Daemon) -> None:
    async with AsyncClient(daemon.url + "/api/v1/", daemon.key) as client:  # either form
        created = await client.campaigns.create("async", contacts=io.BytesIO(CSV))
        cid = created["id"]
        assert (await client.campaigns.get(cid))["counts"]["pending"] == 3
        assert cid in {c["id"] for c in (await client.campaigns.list(limit=1000))["campaigns"]}
        page = await client.campaigns.list_contacts(cid, status="pending", limit=1, offset=2)
        assert [c["phone_number"] for c in page["contacts"]] == ["+14155550102"]
        assert (await client.campaigns.start(cid))["status"] == "running"
        assert (await client.campaigns.pause(cid))["status"] == "paused"
        assert (await client.campaigns.resume(cid))["status"] == "running"
        with pytest.raises(ConflictError):
            await client.campaigns.delete(cid)
        assert (await client.campaigns.stop(cid))["status"] == "stopped"
        events = [e async for e in client.campaigns.stream_events(cid, last_event_id=0)]
        assert [e.event for e in events if e.event == "contact"] == ["contact"] * 3
        assert events[-1] == Event(None, "end", {"campaign_id": cid, "status": "stopped"})
        await client.campaigns.delete(cid)
        with pytest.raises(NotFoundError):
            await client.campaigns.list_contacts(cid)


def test_scheduled_at_takes_a_datetime_or_text(client: Client) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    campaign = client.campaigns.create("later", contacts=CSV, scheduled_at=later)
    assert campaign["scheduled_at"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    assert client.campaigns.start(campaign["id"])["status"] == "scheduled"
    text = (later + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    from_text = client.campaigns.create("text", contacts=CSV, scheduled_at=text)
    assert from_text["scheduled_at"].startswith(text[:19])
    with pytest.raises(ValueError, match="timezone-aware"):
        client.campaigns.create("naive", contacts=CSV, scheduled_at=datetime(2030, 1, 1))
    with pytest.raises(TypeError, match="binary"):
        client.campaigns.create("text file", contacts=io.StringIO("phone_number\n"))  # type: ignore[arg-type]


class GeneratedCsv(io.RawIOBase):
    """A CSV of `rows` contacts made on the fly; records the largest read asked of it."""

    def __init__(self, rows: int) -> None:
        self.rows, self.next_row, self.largest_read = rows, 0, 0
        self.pending = b"phone_number\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.largest_read = max(self.largest_read, len(buffer))
        while len(self.pending) < len(buffer) and self.next_row < self.rows:
            self.pending += f"+1415{2000000 + self.next_row:07d}\n".encode()
            self.next_row += 1
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def test_contacts_are_streamed_not_read_whole(client: Client) -> None:
    source = GeneratedCsv(30_000)  # about 400 kB
    campaign = client.campaigns.create("streamed", contacts=source)
    assert campaign["counts"]["total"] == 30_000
    assert 0 < source.largest_read <= 256 * 1024


def test_typed_errors(daemon: Daemon, client: Client) -> None:
    with Client(daemon.url, "gw_not-a-key") as stranger, pytest.raises(AuthenticationError) as e:
        stranger.campaigns.list()
    assert e.value.status == 401 and "API key" in e.value.message

    with pytest.raises(NotFoundError) as not_found:
        client.campaigns.get("no-such-campaign")
    assert (not_found.value.status, not_found.value.message) == (404, "campaign not found")

    other_key = daemon.create_tenant("globex")
    campaign = client.campaigns.create("mine", contacts=CSV)
    with Client(daemon.url, other_key) as other, pytest.raises(NotFoundError):
        other.campaigns.start(campaign["id"])  # another tenant's: indistinguishable

    with pytest.raises(ConflictError) as conflict:
        client.campaigns.pause(campaign["id"])
    assert conflict.value.status == 409 and "draft" in conflict.value.message

    with pytest.raises(BadRequestError) as bad:
        client.campaigns.create("too many", contacts=CSV, max_concurrent_calls=500)
    assert (bad.value.status, bad.value.field) == (400, "max_concurrent_calls")
    assert bad.value.message.startswith("max_concurrent_calls: ")
    with pytest.raises(BadRequestError) as bad_row:
        client.campaigns.create("bad row", contacts=b"phone_number\n+14155550100\nnope\n")
    assert (bad_row.value.field, bad_row.value.row) == ("contacts", 3)
    with pytest.raises(BadRequestError) as bad_query:
        client.campaigns.list_contacts(campaign["id"], status="ringing")
    assert bad_query.value.field == "status"
    assert isinstance(bad_query.value, GatewayError)

    nowhere = Client(f"http://127.0.0.1:{free_port()}", "k", timeout=2)
    with nowhere, pytest.raises(GatewayConnectionError) as down:
        nowhere.campaigns.list()
    assert down.value.status is None and "cannot reach" in down.value.message


def test_stream_replays_transitions_and_ends(client: Client) -> None:
    cid = client.campaigns.create("replay", contacts=CSV)["id"]
    client.campaigns.start(cid)
    client.campaigns.stop(cid)
    events = list(client.campaigns.stream_events(cid, last_event_id=0))
    kinds = [(e.event, e.data.get("to")) for e in events if e.id is not None]
    assert kinds == [("campaign", "running")] + [("contact", "cancelled")] * 3 + [
        ("campaign", "stopped")
    ]
    assert stored(events) == sorted(set(stored(events)))
    assert events[-2].event == "metrics" and events[-2].data["counts"]["cancelled"] == 3
    assert events[-1].event == "end" and events[-1].data["status"] == "stopped"
    # Resuming after the third stored event gets exactly the rest.
    rest = list(client.campaigns.stream_events(cid, last_event_id=stored(events)[2]))
    assert stored(rest) == stored(events)[3:]
    # history=2: the last two transitions, then what came after them (the stop).
    assert stored(list(client.campaigns.stream_events(cid, history=2))) == stored(events)[2:]
    with pytest.raises(BadRequestError, match="history"):
        list(client.campaigns.stream_events(cid, history=0))


def test_stream_is_live_from_now(own_daemon: Daemon) -> None:
    with Client(own_daemon.url, own_daemon.key) as client:
        cid = client.campaigns.create("live", contacts=CSV)["id"]

        def drive() -> None:
            own_daemon.wait_for_subscribers(1)
            client.campaigns.start(cid)
            client.campaigns.stop(cid)

        driver = threading.Thread(target=drive)
        driver.start()
        events = list(client.campaigns.stream_events(cid))
        driver.join()
    assert [e.event for e in events if e.id is not None] == [
        "campaign",
        *["contact"] * 3,
        "campaign",
    ]
    assert events[-1].event == "end"


def test_stream_resumes_after_a_cut_connection(
    daemon: Daemon, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    cid = client.campaigns.create("cut", contacts=CSV)["id"]
    client.campaigns.start(cid)
    with Proxy(daemon.port) as proxy, Client(proxy.url, daemon.key) as via_proxy:
        stream = via_proxy.campaigns.stream_events(cid, last_event_id=0, retry_delay=0.05)
        first = next(stream)
        assert (first.event, first.data["to"]) == ("campaign", "running")
        proxy.cut()  # abrupt: no end of the chunked body
        client.campaigns.stop(cid)  # happens while the stream is down
        rest = list(stream)
        assert proxy.connections == 2
    assert [e.event for e in rest if e.id is not None] == ["contact"] * 3 + ["campaign"]
    assert all(e.id > first.id for e in rest if e.id is not None)  # type: ignore[operator]
    assert rest[-1].event == "end"
    dropped = [r for r in caplog.records if r.name == "gateway.client"]
    assert len(dropped) == 1 and dropped[0].levelname == "WARNING"
    assert "event stream dropped, reconnecting" in dropped[0].getMessage()
    assert f"last_event_id={first.id}" in dropped[0].getMessage()


async def test_stream_resumes_across_a_daemon_restart(own_daemon: Daemon) -> None:
    async with AsyncClient(own_daemon.url, own_daemon.key) as client:
        cid = (await client.campaigns.create("restart", contacts=CSV))["id"]
        await client.campaigns.start(cid)
        stream = client.campaigns.stream_events(cid, last_event_id=0, retry_delay=0.05)
        first = await anext(stream)
        assert first.data["to"] == "running"
        await asyncio.to_thread(own_daemon.restart)  # SIGTERM: exit 0, streams closed
        await client.campaigns.stop(cid)
        rest = [event async for event in stream]
    ids = [e.id for e in rest if e.id is not None]
    assert len(ids) == 4 and ids == sorted(ids) and ids[0] > first.id  # type: ignore[operator]
    assert rest[-1].event == "end" and rest[-1].data["status"] == "stopped"


async def test_stream_gives_up_after_bounded_retries() -> None:
    async with AsyncClient(f"http://127.0.0.1:{free_port()}", "k") as client:
        started = time.monotonic()
        with pytest.raises(GatewayConnectionError, match="after 3 retries"):
            async for _ in client.campaigns.stream_events("x", max_retries=3, retry_delay=0.01):
                pass
        assert time.monotonic() - started < 5


def test_stream_errors_are_typed_and_not_retried(client: Client) -> None:
    with pytest.raises(NotFoundError):
        next(client.campaigns.stream_events("no-such-campaign"))
    cid = client.campaigns.create("bad id", contacts=CSV)["id"]
    with pytest.raises(BadRequestError):
        next(client.campaigns.stream_events(cid, last_event_id=-1))


def test_sse_parser_follows_the_spec() -> None:
    parser = SSEParser()
    lines = ["retry: 2000", "", ": heartbeat", "", "id: 7", "", "event: metrics"]
    lines += ['data: {"a":', "data: 1}", "", "id: 8", "event: contact", "data: [1]", ""]
    lines += ["data: plain text", ""]
    events = [e for e in map(parser.feed, lines) if e is not None]
    assert events == [
        Event(None, "metrics", {"a": 1}),
        Event(8, "contact", {"value": [1]}),
        Event(None, "message", {"text": "plain text"}),
    ]
    assert parser.last_id == 8  # an id-only block counts too (it moved 7 → 8 here)


def test_leaving_a_stream_early_releases_it(client: Client) -> None:
    cid = client.campaigns.create("early", contacts=CSV)["id"]
    client.campaigns.start(cid)
    stream = client.campaigns.stream_events(cid, last_event_id=0)
    assert next(stream).event == "campaign"
    stream.close()
    assert client.campaigns.stop(cid)["status"] == "stopped"
