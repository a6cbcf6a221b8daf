"""Integration test support: the sandbox, a gateway daemon wired to it, and independent
witnesses of what really happened on the Asterisk side.

Everything here is black-box: the daemon is a subprocess (tests.daemon_fixture.Daemon,
used by composition), spoken to over HTTP; Asterisk is watched by our own raw AMI login
(stdlib asyncio only, no gateway code), which receives the same call events as the
gateway's and polls CoreShowChannels.

Whose channel is whose: every daemon started here gets phone numbers with caller IDs of
its own (random), so the witness attributes each PJSIP/carrier channel on the shared
sandbox Asterisk to a daemon and a campaign by its CallerIDNum -- without knowing the
gateway's attempt-id format, and unaffected by anyone else's calls on the same Asterisk.

Background work (the AMI witness, SSE readers) runs on one asyncio loop in a thread of its
own, so a test can block (restart a daemon, sleep) without the witness falling behind
(Asterisk drops an AMI reader slower than its writetimeout).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from tests.daemon_fixture import CONFIG, Daemon, Proxy, clean_env
from tests.integration.nodes import (
    AmiSettings,
    NodeOption,
    SandboxMissing,
    nodes_env,
    nodes_toml,
    parse_env,
    run_sandbox,
)

REPO = Path(__file__).resolve().parents[2]
CARRIER_PREFIX = "PJSIP/carrier-"
DEFAULT_CALLER_ID = "+15551230000"

T = TypeVar("T")


def start_sandbox(timeout: float = 600) -> AmiSettings:
    """`scripts/sandbox start` (idempotent; builds once; node a only) and node a's
    settings, from its GATEWAY_AMI_* lines. Both nodes: tests.integration.nodes."""
    return parse_env(run_sandbox("start", timeout=timeout))["a"]


# ---------------------------------------------------------------------------------------
# A loop in a thread


class BackgroundLoop:
    """An asyncio loop on a daemon thread; `run()` a coroutine on it from a test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="it-background", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(cancel_all(), 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# ---------------------------------------------------------------------------------------
# Arrival times


class TimedReader(asyncio.StreamReader):
    """A StreamReader that remembers when each chunk arrived (time.monotonic() in the
    protocol's data_received), so a message is timed when its last byte reached us, not
    when our task got round to parsing it."""

    def __init__(self, limit: int = 1 << 20) -> None:
        super().__init__(limit=limit)
        self._arrivals: collections.deque[tuple[int, float]] = collections.deque()
        self._fed = 0

    def feed_data(self, data: bytes) -> None:
        super().feed_data(data)
        self._fed += len(data)
        self._arrivals.append((self._fed, time.monotonic()))

    def arrival(self) -> float:
        """When the last byte read out of this reader so far arrived."""
        consumed = self._fed - len(self._buffer)  # type: ignore[attr-defined]
        while len(self._arrivals) > 1 and self._arrivals[0][0] < consumed:
            self._arrivals.popleft()
        return self._arrivals[0][1] if self._arrivals else time.monotonic()


async def open_timed(host: str, port: int) -> tuple[TimedReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = TimedReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.create_connection(lambda: protocol, host, port)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


# ---------------------------------------------------------------------------------------
# The AMI witness


@dataclass
class Call:
    """One channel (attempt) as the witness saw it; times are time.monotonic()."""

    uniqueid: str
    channel: str = ""
    created: float | None = None  # Newchannel
    up: float | None = None  # Newstate ChannelState 6
    hangup: float | None = None
    cause: str | None = None
    cause_txt: str | None = None
    tech_cause: str | None = None
    caller_id: str | None = None
    dialled: str | None = None  # from OriginateResponse Channel PJSIP/<number>@carrier
    originate_response: float | None = None
    response: str | None = None
    reason: str | None = None
    contexts: set[str] = field(default_factory=set)  # every dialplan context it was seen in
    hangup_at: tuple[str, str] | None = None  # (Context, Exten) of its Hangup
    amd_status: str | None = None  # AMDSTATUS of its GatewayAMD UserEvent


def header(message: dict[str, str], name: str) -> str | None:
    """A header by its name in any case (the dialplan's own UserEvent headers: AMDSTATUS,
    written AMDStatus by the dialplan shipped before)."""
    folded = name.casefold()
    return next((v for k, v in message.items() if k.casefold() == folded), None)


def _caller_id(message: dict[str, str]) -> str | None:
    value = message.get("CallerIDNum", "")
    return value if value and value != "<unknown>" else None


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The largest number of `times` in any half-open interval [t, t + window)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    points = []
    for begin, end in intervals:
        points.append((begin, 1))
        points.append((end, -1))
    points.sort(key=lambda p: (p[0], p[1]))  # an end before a begin at the same moment
    best = live = 0
    for _, step in points:
        live += step
        best = max(best, live)
    return best


class AmiWitness:
    """Our own AMI login: records every call event of PJSIP/carrier channels and polls
    CoreShowChannels every `sample_interval` seconds (the Asterisk-side concurrency)."""

    def __init__(self, settings: AmiSettings, sample_interval: float = 0.1) -> None:
        self.settings = settings
        self.sample_interval = sample_interval
        self.calls: dict[str, Call] = {}
        # (monotonic time, [(uniqueid, caller id or None), ...]) per CoreShowChannels answer
        self.samples: list[tuple[float, list[tuple[str, str | None, float]]]] = []
        self.events = 0
        self.error: str | None = None
        self._lock = threading.Lock()
        self._reader: TimedReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._replies: dict[str, asyncio.Future[dict[str, str]]] = {}
        self._listing: dict[str, list[tuple[str, str | None]]] = {}
        self._listed: dict[str, asyncio.Future[None]] = {}
        self._action = 0

    # -- lifecycle (on the loop) -------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        try:
            self._reader, self._writer = await asyncio.wait_for(open_timed(s.host, s.port), 5)
            greeting = await asyncio.wait_for(self._reader.readline(), 5)
        except (OSError, TimeoutError) as exc:
            raise SandboxMissing(f"no AMI on {s.host}:{s.port}: {exc!r}") from exc
        if not greeting.startswith(b"Asterisk Call Manager/"):
            raise SandboxMissing(f"not an AMI greeting: {greeting!r}")
        self._tasks.append(asyncio.create_task(self._read()))
        reply = await self.action("Login", Username=s.username, Secret=s.secret)
        if reply.get("Response") != "Success":
            raise SandboxMissing(f"AMI login refused: {reply}")
        if self.sample_interval > 0:
            self._tasks.append(asyncio.create_task(self._sample()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    def _send(self, action: str, **headers: str | int) -> str:
        assert self._writer is not None
        self._action += 1
        action_id = f"witness-{self._action}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return action_id

    async def action(self, action: str, within: float = 10, **headers: str | int) -> dict:
        action_id = self._send(action, **headers)
        future = self._replies[action_id] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(future, within)
        finally:
            self._replies.pop(action_id, None)

    async def core_show_channels(self, within: float = 10) -> list[tuple[str, str | None, float]]:
        action_id = self._send("CoreShowChannels")
        self._listing[action_id] = []
        done = self._listed[action_id] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(done, within)
            return self._listing[action_id]
        finally:
            self._listing.pop(action_id, None)
            self._listed.pop(action_id, None)

    async def _sample(self) -> None:
        while True:
            try:
                listed = await self.core_show_channels()
            except TimeoutError:
                self.error = "CoreShowChannels got no complete answer within 10 s"
                return
            with self._lock:
                self.samples.append((time.monotonic(), listed))
            await asyncio.sleep(self.sample_interval)

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                block = await self._reader.readuntil(b"\r\n\r\n")
                now = self._reader.arrival()
                message: dict[str, str] = {}
                for line in block.decode(errors="replace").split("\r\n"):
                    name, sep, value = line.partition(":")
                    if sep:
                        message.setdefault(name, value.strip())
                self._handle(now, message)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.error = f"AMI connection of the witness lost: {exc!r}"

    # -- events --------------------------------------------------------------------------

    def _handle(self, now: float, m: dict[str, str]) -> None:
        event = m.get("Event")
        if event is None:
            future = self._replies.get(m.get("ActionID", ""))
            if future is not None and not future.done():
                future.set_result(m)
            return
        if event == "CoreShowChannel":
            listing = self._listing.get(m.get("ActionID", ""))
            if listing is not None and m.get("Channel", "").startswith(CARRIER_PREFIX):
                listing.append((m.get("Uniqueid", ""), _caller_id(m), now))
            return
        if event == "CoreShowChannelsComplete":
            done = self._listed.get(m.get("ActionID", ""))
            if done is not None and not done.done():
                done.set_result(None)
            return
        uniqueid = m.get("Uniqueid", "")
        channel = m.get("Channel", "")
        if event == "OriginateResponse":
            if not uniqueid or uniqueid == "<null>":
                uniqueid = "no-channel:" + m.get("ActionID", "?")
        elif not channel.startswith(CARRIER_PREFIX):
            return
        with self._lock:
            self.events += 1
            call = self.calls.get(uniqueid)
            if call is None:
                call = self.calls[uniqueid] = Call(uniqueid)
            call.caller_id = _caller_id(m) or call.caller_id
            if m.get("Context"):
                call.contexts.add(m["Context"])
            if event == "UserEvent" and m.get("UserEvent") == "GatewayAMD":
                call.amd_status = header(m, "AMDSTATUS")
            if event == "Newchannel":
                call.channel = channel
                call.created = now
            elif event == "Newstate":
                if m.get("ChannelState") == "6" and call.up is None:
                    call.up = now
            elif event == "Hangup":
                call.hangup = now
                call.hangup_at = (m.get("Context", ""), m.get("Exten", ""))
                call.cause = m.get("Cause")
                call.cause_txt = m.get("Cause-txt")
                call.tech_cause = m.get("TechCause")
            elif event == "OriginateResponse":
                call.originate_response = now
                call.response = m.get("Response")
                call.reason = m.get("Reason")
                if channel.startswith("PJSIP/") and not channel.startswith(CARRIER_PREFIX):
                    call.dialled = channel.removeprefix("PJSIP/").partition("@")[0]

    # -- queries (any thread) ------------------------------------------------------------

    def calls_of(self, caller_ids: Iterable[str]) -> list[Call]:
        """Channels (Newchannel seen) of the given caller IDs."""
        wanted = set(caller_ids)
        with self._lock:
            return [
                Call(**vars(c))
                for c in self.calls.values()
                if c.caller_id in wanted and c.created is not None
            ]

    def snapshot(self) -> dict[str, Call]:
        """Every channel seen so far (also other callers'), by Uniqueid."""
        with self._lock:
            return {u: Call(**vars(c)) for u, c in self.calls.items()}

    def live(self, caller_ids: Iterable[str]) -> list[Call]:
        return [c for c in self.calls_of(caller_ids) if c.hangup is None]

    def max_live(self, caller_ids: Iterable[str]) -> int:
        """Most channels alive at once, exactly, from Newchannel/Hangup events."""
        forever = time.monotonic() + 1e6
        return max_overlap(
            (c.created, c.hangup if c.hangup is not None else forever)
            for c in self.calls_of(caller_ids)
            if c.created is not None
        )

    def max_sampled(self, caller_ids: Iterable[str]) -> int:
        """Most channels of one CoreShowChannels answer that were alive together (owners
        resolved from every event seen, so a channel listed before it rang still counts).

        An answer is not a snapshot of one instant: Asterisk writes it entry by entry while
        calls end and begin (10-20 ms for 400 channels on a loaded host), and this
        session's own events wait until the whole answer is written. So a channel listed
        early can hang up, and the call that takes its slot be listed later in the same
        answer, before either event reaches us: counting the entries would add up
        channels that never coexisted. Each listed channel therefore counts over its life
        as the events show it -- from its Newchannel (or, never seen, from when it was
        listed) to its Hangup (never seen: for ever) -- and the answer gives the most of
        those lives that overlap. A channel whose events we missed still counts.

        An answer can also list one channel twice (seen here under load: the same Uniqueid
        twice, a millisecond apart, in one answer of 21 entries while calls ended and
        began), so each Uniqueid counts once per answer: a channel never coexists with
        itself."""
        wanted = set(caller_ids)
        forever = time.monotonic() + 1e6
        with self._lock:
            lives = {u: (c.caller_id, c.created, c.hangup) for u, c in self.calls.items()}
            samples = list(self.samples)
        best = 0
        for _, listed in samples:
            intervals = []
            counted: set[str] = set()
            for u, cid, seen in listed:
                if u in counted:
                    continue
                counted.add(u)
                owner, created, hangup = lives.get(u, (None, None, None))
                if (owner or cid) not in wanted:
                    continue
                begin = created if created is not None else seen
                intervals.append((begin, hangup if hangup is not None else forever))
            best = max(best, max_overlap(intervals))
        return best

    def sample_count(self) -> int:
        return len(self.samples)

    def created_times(self, caller_ids: Iterable[str]) -> list[float]:
        return sorted(c.created for c in self.calls_of(caller_ids) if c.created is not None)

    def wait_idle(self, caller_ids: Iterable[str], timeout: float = 30) -> None:
        """Until none of these caller IDs' channels is alive."""
        wanted = list(caller_ids)
        deadline = time.monotonic() + timeout
        while self.live(wanted):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"channels still alive after {timeout}s: "
                    f"{[c.uniqueid for c in self.live(wanted)]}"
                )
            time.sleep(0.1)

    def check_healthy(self) -> None:
        assert self.error is None, self.error


# ---------------------------------------------------------------------------------------
# SSE reader


@dataclass
class SseEvent:
    received: float  # time.monotonic()
    event: str
    id: int | None
    data: Any


class SseReader:
    """Reads a campaign's event stream on the background loop, records every event with
    its arrival time, and (when `reconnect`) comes back with Last-Event-ID after the
    daemon went away, until `end`."""

    def __init__(self, port: int, key: str, campaign_id: str, reconnect: bool = True) -> None:
        self.port = port
        self.key = key
        self.campaign_id = campaign_id
        self.reconnect = reconnect
        self.events: list[SseEvent] = []
        self.connections = 0
        self.errors: list[str] = []
        self.subscribed = threading.Event()
        self.ended = threading.Event()
        self._last_id: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start_on(self, loop: BackgroundLoop) -> SseReader:
        async def spawn() -> None:
            self._task = asyncio.create_task(self._run())

        loop.run(spawn())
        return self

    async def open(self, within: float = 10) -> SseReader:
        """Start reading on the running loop; return once subscribed."""
        self._task = asyncio.create_task(self._run())
        deadline = time.monotonic() + within
        while not self.subscribed.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"event stream not open: {self.errors}")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self.ended.is_set():
            try:
                await self._stream()
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self.errors.append(repr(exc))
            if not self.reconnect or self.ended.is_set():
                return
            await asyncio.sleep(0.2)

    async def _stream(self) -> None:
        reader, writer = await open_timed("127.0.0.1", self.port)
        try:
            headers = [
                f"GET /api/v1/campaigns/{self.campaign_id}/events HTTP/1.1",
                f"Host: 127.0.0.1:{self.port}",
                f"Authorization: Bearer {self.key}",
                "Accept: text/event-stream",
            ]
            if self._last_id is not None:
                headers.append(f"Last-Event-ID: {self._last_id}")
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
            status = await reader.readline()
            response_headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                response_headers[name.strip().lower()] = value.strip()
            if b" 200 " not in status:
                raise ValueError(f"event stream answered {status!r}")
            self.connections += 1
            self.subscribed.set()
            chunked = response_headers.get("transfer-encoding", "").lower() == "chunked"
            buffer = b""
            while True:
                if chunked:
                    size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        return
                    data = await reader.readexactly(size + 2)
                    data = data[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                now = reader.arrival()
                buffer += data
                *blocks, buffer = buffer.split(b"\n\n")
                for block in blocks:
                    self._parse(now, block.decode())
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _parse(self, now: float, block: str) -> None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "event" not in fields and "data" not in fields:
            return
        event_id = int(fields["id"]) if "id" in fields else None
        if event_id is not None:
            self._last_id = event_id
        try:
            data = json.loads(fields.get("data", "null"))
        except ValueError:
            data = fields.get("data")
        self.events.append(SseEvent(now, fields.get("event", "message"), event_id, data))
        if fields.get("event") == "end":
            self.ended.set()

    def of(self, kind: str) -> list[SseEvent]:
        return [e for e in list(self.events) if e.event == kind]

    def wait_end(self, timeout: float) -> None:
        assert self.ended.wait(timeout), (
            f"no `end` on the event stream within {timeout}s; "
            f"{len(self.events)} events, errors {self.errors[-3:]}"
        )


def parse_time(value: str) -> float:
    """An event's RFC 3339 `time` as a unix timestamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------------------------------
# HTTP API client (sync, urllib)


class ApiError(AssertionError):
    def __init__(self, status: int, body: Any, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """The campaigns API as a tenant sees it."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        timeout: float = 30,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.url + "/api/v1" + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw[:500]
            raise ApiError(exc.code, parsed, f"{method} {path}") from None
        return json.loads(raw) if raw else None

    def create(self, phone_numbers: Iterable[str], **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", "integration " + uuid.uuid4().hex[:6])
        boundary = "----it" + uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        csv = "phone_number\n" + "".join(f"{n}\n" for n in phone_numbers)
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="contacts";'
            f' filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + csv.encode()
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST", "/campaigns", b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )

    def get(self, campaign_id: str) -> dict[str, Any]:
        return self.request("GET", f"/campaigns/{campaign_id}")

    def command(self, campaign_id: str, name: str) -> dict[str, Any]:
        return self.request("POST", f"/campaigns/{campaign_id}/{name}")

    def contacts(self, campaign_id: str, status: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            query = f"?limit=1000&offset={len(found)}" + (f"&status={status}" if status else "")
            page = self.request("GET", f"/campaigns/{campaign_id}/contacts{query}")
            found += page["contacts"]
            if not page["contacts"] or len(found) >= page["total"]:
                return found

    def wait_for(
        self,
        campaign_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float,
        what: str = "condition",
        poll: float = 0.2,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            campaign = self.get(campaign_id)
            if predicate(campaign):
                return campaign
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"campaign {campaign_id}: no {what} within {timeout}s; now status "
                    f"{campaign['status']} counts {campaign['counts']}"
                )
            time.sleep(poll)

    def wait_status(self, campaign_id: str, status: str, timeout: float) -> dict[str, Any]:
        return self.wait_for(
            campaign_id, lambda c: c["status"] == status, timeout, f"status {status!r}"
        )


def in_flight(campaign: dict[str, Any]) -> int:
    return campaign["counts"]["originated"] + campaign["counts"]["connected"]


# ---------------------------------------------------------------------------------------
# The gateway daemon wired to the sandbox


def random_caller_id() -> str:
    return f"+1555{random.randrange(10**7):07d}"


@dataclass
class GatewayOptions:
    host_max_concurrent_calls: int = 200
    host_max_calls_per_second: float = 100.0
    ami_port: int | None = None  # e.g. a proxy's; default the sandbox's
    extra_numbers: tuple[str, ...] = ()  # more phone number ids, each its own caller ID
    log_level: str = "info"
    calling_hours: str = ""  # off: tests dial at any hour, unless they test the hours
    ami: dict[str, Any] = field(default_factory=dict)  # more [ami] settings
    extra_toml: str = ""  # appended to the configuration (e.g. more [[agents]])
    # A pool (issue 11): [[asterisk_nodes]] tables instead of [ami] host/port/username/
    # secret and the [dialer] caps above, which are then not written (`ami` and `dialer`
    # may still add e.g. ping_interval, node_lost_after_seconds).
    nodes: tuple[NodeOption, ...] = ()
    number_nodes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id: its nodes
    dialer: dict[str, Any] = field(default_factory=dict)  # more [dialer] settings


class Gateway:
    """A real `gateway serve` (tests.daemon_fixture.Daemon) with [ami] and [dialer]
    settings for the sandbox, or with GatewayOptions.nodes its [[asterisk_nodes]], and
    phone numbers whose caller IDs are its own."""

    def __init__(self, folder: Path, ami: AmiSettings, options: GatewayOptions) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.daemon = Daemon(folder)
        self.caller_ids = {"main": random_caller_id()}
        for number_id in options.extra_numbers:
            self.caller_ids[number_id] = random_caller_id()
        text = CONFIG.format(db=folder / "gateway.db", port=self.daemon.port)
        assert f'caller_id = "{DEFAULT_CALLER_ID}"' in text
        text = text.replace(DEFAULT_CALLER_ID, self.caller_ids["main"])
        text = text.replace('level = "info"', f'level = "{options.log_level}"')
        text = text.replace(
            'calling_hours = ""', f"calling_hours = {json.dumps(options.calling_hours)}"
        )
        unknown = set(options.number_nodes) - set(self.caller_ids)
        assert not unknown, f"number_nodes names no phone number of this daemon: {unknown}"
        assert text.endswith('\ndial_string = "PJSIP/{number}@carrier"\n')  # main's table
        text += self._nodes_line(options, "main")
        for number_id in options.extra_numbers:
            text += (
                f'[[phone_numbers]]\nid = "{number_id}"\n'
                f'caller_id = "{self.caller_ids[number_id]}"\n'
                'dial_string = "PJSIP/{number}@carrier"\n'
            ) + self._nodes_line(options, number_id)
        text += options.extra_toml
        self.options = options
        self.ami_port = options.ami_port or ami.port
        if options.nodes:
            text += nodes_toml(options.nodes, options.ami, options.dialer)
        else:
            ami_table = {
                "host": ami.host,
                "port": self.ami_port,
                "username": ami.username,
                "secret": ami.secret,
                **options.ami,
            }
            text += "[ami]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in ami_table.items())
            text += (
                "[dialer]\n"
                f"max_concurrent_calls = {options.host_max_concurrent_calls}\n"
                f"max_calls_per_second = {options.host_max_calls_per_second}\n"
            ) + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.dialer.items())
        self.daemon.config.write_text(text)
        self.url = self.daemon.url
        self.port = self.daemon.port
        self.log = self.daemon.log

    @staticmethod
    def _nodes_line(options: GatewayOptions, number_id: str) -> str:
        nodes = options.number_nodes.get(number_id)
        return "" if nodes is None else f"nodes = {json.dumps(list(nodes))}\n"

    def environment(self) -> dict[str, str]:
        """The daemon's environment: tests.daemon_fixture.clean_env with this gateway's
        AMI port (clean_env points every other test daemon at a closed one), or for a
        pool no GATEWAY_AMI_PORT at all (its nodes' ports are in the file) and the
        secrets of the nodes that read theirs from GATEWAY_AMI_SECRET_<ID>."""
        if not self.options.nodes:
            return clean_env(GATEWAY_AMI_PORT=str(self.ami_port))
        env = clean_env(**nodes_env(self.options.nodes))
        del env["GATEWAY_AMI_PORT"]
        return env

    @property
    def pid(self) -> int:
        assert self.daemon.proc is not None
        return self.daemon.proc.pid

    def tenant(self, name: str, max_calls: int, cps: float) -> Api:
        return Api(self.url, self.daemon.create_tenant(name, max_calls, cps))

    def readyz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def ami_ok(self) -> bool:
        status, body = self.readyz()
        return status == 200 and body.get("checks", {}).get("ami") == "ok"

    def node_states(self, body: dict[str, Any] | None = None) -> dict[str, str]:
        """Each node's state as /readyz's `nodes` tells it: ready, connecting, reconciling."""
        nodes = (self.readyz()[1] if body is None else body).get("nodes") or {}
        return {node: str(entry.get("state")) for node, entry in nodes.items()}

    def ready(self) -> bool:
        """One node: /readyz says AMI is logged in. A pool: /readyz is 200 and every
        configured node is ready (start(ready=...) for a pool with a node down)."""
        if not self.options.nodes:
            return self.ami_ok()
        status, body = self.readyz()
        states = self.node_states(body)
        return status == 200 and all(states.get(n.id) == "ready" for n in self.options.nodes)

    def start(self, timeout: float = 20, ready: Callable[[], bool] | None = None) -> None:
        """Start the daemon and wait until `ready()` (default: self.ready).

        Like Daemon.start, but with the environment of self.environment()."""
        daemon = self.daemon
        check = ready or self.ready
        assert daemon.proc is None or daemon.proc.poll() is not None, "already running"
        with daemon.log.open("ab") as log:
            daemon.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "--config", str(daemon.config), "serve"],
                stdout=log,
                stderr=log,
                env=self.environment(),
            )
        deadline = time.monotonic() + timeout
        while True:
            if daemon.proc.poll() is not None:
                raise AssertionError(f"daemon exited: {self.tail()}")
            with contextlib.suppress(OSError, ValueError):
                if check():
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"/readyz not ready within {timeout}s\n{self.tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, no clean-up at all."""
        assert self.daemon.proc is not None
        self.daemon.proc.kill()
        self.daemon.proc.wait(10)
        self.daemon.proc = None

    def stop(self) -> int:
        return self.daemon.stop(timeout=20)

    def cpu_seconds(self) -> float:
        """utime + stime of the daemon process, from /proc/PID/stat."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------
# A cuttable proxy in front of Asterisk's AMI


class AmiProxy:
    """tests.daemon_fixture.Proxy in front of AMI: `cut()` drops every connection and
    refuses new ones (accepted, then reset at once) until `restore()`."""

    def __init__(self, ami: AmiSettings) -> None:
        assert ami.host == "127.0.0.1", "the proxy forwards to 127.0.0.1"
        self._proxy = Proxy(ami.port)
        self.port = self._proxy.port

    def __enter__(self) -> AmiProxy:
        self._proxy.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._proxy.__exit__(*exc)

    @property
    def connections(self) -> int:
        return self._proxy.connections

    def cut(self) -> None:
        self._proxy.refuse = True
        self._proxy.cut()

    def restore(self) -> None:
        self._proxy.refuse = False


# ---------------------------------------------------------------------------------------
# The far end's outcome table (tests/sandbox/README.md)

# last digit: (contact status, last_outcome, hangup_cause, sip_code)
OUTCOMES: dict[str, tuple[str, str, int, str | None]] = {
    **{d: ("completed", "answered", 16, None) for d in "01234"},
    "5": ("failed", "busy", 17, "486"),
    "6": ("failed", "no_answer", 19, "480"),
    "7": ("failed", "rejected", 21, "603"),
    "8": ("failed", "invalid_number", 1, "404"),
    "9": ("failed", "no_answer", 19, "480"),
}


def numbers(digits: str, count: int, exchange: int = 555) -> list[str]:
    """`count` distinct numbers +1415<exchange><iii><d>, last digits cycling through
    `digits` (so each digit gets count / len(digits) of them)."""
    assert count <= 1000
    return [f"+1415{exchange:03d}{i:03d}{digits[i % len(digits)]}" for i in range(count)]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)
