"""Dialling benchmark: the gateway against the sandbox Asterisk + SIPp, next to a bare asyncio
AMI client firing the same Originates at the same Asterisk, in the same run.

    .venv/bin/python bench/dial.py [--campaigns 4] [--contacts 600] [--concurrency 100]
                                   [--cps 250] [--calling-hours 00:00-23:59] [--dnc 1000000]

Starts the sandbox if it does not run (and leaves it running). One tenant runs
`--campaigns` campaigns of `--contacts` answered numbers each (last digits 0-4: SIPp
answers, ~2 s of talk), each campaign at `--concurrency` concurrent calls (the API's
maximum is 100, so several campaigns go higher), the tenant and host capped at the sum and
at `--cps` new calls per second. Then the bare client dials the same numbers at the same
total concurrency and rate. Prints:

- completed calls per second of the gateway (from the start requests to the last contact
  final on the event streams) and of the bare client (first Originate to last Hangup),
  and their ratio;
- cap violations seen from the Asterisk side: our own AMI login follows every channel
  (Newchannel/Hangup: exact concurrency per campaign and in all, new channels per 1-second
  window) and samples CoreShowChannels every 0.5 s; each campaign's channels are told
  apart by their caller ID (one configured phone number per campaign);
- the daemon's CPU seconds (utime + stime from /proc/PID/stat) per 1000 calls;
- AMI-event-to-SSE latency p50/p99: for each contact transition on the event streams
  (connected, completed, failed), the time from our own AMI login receiving the event that
  causes it (Newstate Up / OriginateResponse Success; Hangup) to our SSE client receiving
  the transition. Both clients run on one asyncio loop in this process and time each
  message when its last byte arrived (data_received), so both times come from the same
  clock. Asterisk writes an event to each AMI session separately: ours may get it a few ms
  after the gateway's does, so single latencies can come out slightly negative (min).
  The AMI channel is matched to the contact by its Uniqueid, which is the gateway's
  attempt id, ending in "-<contact id>-<attempt>" (the gateway's current
  format; unmatched transitions are counted and printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.support import (
    AmiSettings,
    AmiWitness,
    Api,
    Gateway,
    GatewayOptions,
    SseReader,
    max_in_window,
    numbers,
    random_caller_id,
    start_sandbox,
)

RING_TIMEOUT_S = 5
FINAL = {"completed", "failed", "cancelled"}
DEBUG = bool(os.environ.get("BENCH_DEBUG"))


# ---------------------------------------------------------------------------------------
# The bare client: stdlib asyncio, nothing else


class BareAmi:
    """Logs in, fires Async Originates with ChannelId, counts a call done when both its
    Hangup and its OriginateResponse arrived."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.pending: dict[str, asyncio.Future[None]] = {}
        self.seen: dict[str, set[str]] = {}
        self.answered = 0
        self.ended_at: list[float] = []

    async def connect(self) -> None:
        s = self.settings
        self.reader, self.writer = await asyncio.open_connection(s.host, s.port, limit=1 << 20)
        await self.reader.readline()
        self.login = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self.read())
        self.send(Action="Login", ActionID="login", Username=s.username, Secret=s.secret)
        reply = await asyncio.wait_for(self.login, 5)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"bare client: login refused: {reply}")

    def send(self, **headers: Any) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(text.encode())

    async def read(self) -> None:
        while True:
            try:
                block = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            m: dict[str, str] = {}
            for line in block.decode(errors="replace").split("\r\n"):
                name, sep, value = line.partition(":")
                if sep:
                    m.setdefault(name, value.strip())
            if m.get("ActionID") == "login" and "Event" not in m:
                self.login.set_result(m)
                continue
            event = m.get("Event")
            if event not in ("Hangup", "OriginateResponse"):
                continue
            uid = m.get("Uniqueid", "")
            if uid not in self.pending:
                uid = m.get("ActionID", "")  # an OriginateResponse without a channel
            if uid not in self.pending:
                continue
            got = self.seen.setdefault(uid, set())
            got.add(event)
            if event == "OriginateResponse" and m.get("Reason") == "4":
                self.answered += 1
            if event == "OriginateResponse" and m.get("Uniqueid") in ("", "<null>"):
                got.add("Hangup")  # no channel was created: no Hangup will come
            if got >= {"Hangup", "OriginateResponse"}:
                future = self.pending.pop(uid)
                self.ended_at.append(time.monotonic())
                if not future.done():
                    future.set_result(None)

    async def originate(self, attempt_id: str, number: str, caller_id: str) -> None:
        future = self.pending[attempt_id] = asyncio.get_running_loop().create_future()
        self.send(
            Action="Originate",
            ActionID=attempt_id,
            ChannelId=attempt_id,
            Channel=f"PJSIP/{number}@carrier",
            Context="campaign",
            Exten="s",
            Priority=1,
            Timeout=RING_TIMEOUT_S * 1000,
            CallerID=caller_id,
            Async="true",
        )
        await asyncio.wait_for(future, RING_TIMEOUT_S + 60)

    async def run(
        self, phones: list[str], concurrency: int, cps: float, caller_id: str
    ) -> tuple[float, float]:
        """Dials every number, at most `concurrency` at once and `cps` new a second
        (the same token bucket rule: one call per 1/cps seconds, a burst of one)."""
        slots = asyncio.Semaphore(concurrency)
        prefix = uuid.uuid4().hex[:8]
        interval = 1.0 / cps
        tasks = []
        first = time.monotonic()
        next_at = first
        for i, number in enumerate(phones):
            await slots.acquire()
            now = time.monotonic()
            if now < next_at:
                await asyncio.sleep(next_at - now)
            next_at = max(next_at + interval, time.monotonic() - interval)

            async def one(i: int = i, number: str = number) -> None:
                try:
                    await self.originate(f"bare-{prefix}-{i}", number, caller_id)
                finally:
                    slots.release()

            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        return first, max(self.ended_at)

    async def close(self) -> None:
        self.writer.close()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


# ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latencies(
    witness: AmiWitness, streams: list[SseReader], caller_ids: list[str]
) -> tuple[list[float], int, int]:
    """(latencies in s, transitions matched, transitions not matched)."""
    calls = {u: c for u, c in witness.snapshot().items() if c.caller_id in caller_ids}
    by_suffix = {}
    for uid, call in calls.items():
        parts = uid.rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            by_suffix[(int(parts[1]), int(parts[2]))] = call
    found, missing = [], 0
    for stream in streams:
        for event in stream.of("contact"):
            data = event.data
            if data["to"] not in ("connected", "completed", "failed"):
                continue
            call = by_suffix.get((data["contact_id"], data["attempt"]))
            if call is None:
                missing += 1
                continue
            if data["to"] == "connected":
                candidates = [call.up]
                if call.response == "Success":
                    candidates.append(call.originate_response)
                cause_at = min((t for t in candidates if t is not None), default=None)
            else:
                cause_at = call.hangup
            if cause_at is None:
                missing += 1
                continue
            found.append(event.received - cause_at)
            if DEBUG and event.received - cause_at < -0.005:
                print("negative", data, call, event.received, file=sys.stderr)
    return found, len(found), missing


async def wait_idle(witness: AmiWitness, caller_ids: list[str], within: float) -> None:
    for _ in range(int(within / 0.2)):
        if not witness.live(caller_ids):
            return
        await asyncio.sleep(0.2)


async def bench(args: argparse.Namespace) -> int:
    ami = start_sandbox()
    total_concurrency = args.campaigns * args.concurrency
    number_ids = ["main"] + [f"p{i}" for i in range(2, args.campaigns + 1)]
    folder = Path(tempfile.mkdtemp(prefix="bench-dial-"))
    server = Gateway(
        folder,
        ami,
        GatewayOptions(
            host_max_concurrent_calls=total_concurrency,
            host_max_calls_per_second=args.cps,
            extra_numbers=tuple(number_ids[1:]),
            calling_hours=args.calling_hours,
        ),
    )
    api: Api = server.tenant("bench", max_calls=total_concurrency, cps=args.cps)
    await asyncio.to_thread(server.start)
    if args.dnc:
        listed = await asyncio.to_thread(fill_dnc, folder / "gateway.db", args.dnc)
        print(f"do-not-call lists: {listed} numbers (half the tenant's, half host-wide)")
    witness = AmiWitness(ami, sample_interval=0.5)
    await witness.start()
    try:
        campaigns, phones_all = [], []
        for i, number_id in enumerate(number_ids):
            phones = numbers("01234", args.contacts, exchange=555 + i)
            phones_all += phones
            created = await asyncio.to_thread(
                api.create,
                phones,
                max_concurrent_calls=args.concurrency,
                ring_timeout_seconds=RING_TIMEOUT_S,
                phone_number_id=number_id,
            )
            campaigns.append(created)
        streams = [
            await SseReader(server.port, api.key, c["id"], reconnect=False).open()
            for c in campaigns
        ]
        total = len(phones_all)
        print(
            f"gateway: {len(campaigns)} campaigns x {args.contacts} contacts, "
            f"{args.concurrency} concurrent each ({total_concurrency} in all), "
            f"tenant/host {total_concurrency} concurrent, {args.cps}/s"
        )
        cpu_before = server.cpu_seconds()
        started = time.monotonic()
        for c in campaigns:
            await asyncio.to_thread(api.command, c["id"], "start")
        deadline = started + args.timeout
        timed_out = False
        while not all(s.ended.is_set() for s in streams):
            if time.monotonic() > deadline:
                timed_out = True
                break
            await asyncio.sleep(0.1)
        finals = [e.received for s in streams for e in s.of("contact") if e.data["to"] in FINAL]
        ended = max(finals) if not timed_out else time.monotonic()
        cpu = server.cpu_seconds() - cpu_before
        results = [await asyncio.to_thread(api.get, c["id"]) for c in campaigns]
        completed = sum(r["counts"]["completed"] for r in results)
        failed = sum(r["counts"]["failed"] for r in results)
        done_calls = completed + failed
        if timed_out:  # rate from what finished; stop the rest before the bare client
            print(f"gateway: only {done_calls} of {total} calls done within {args.timeout}s")
            for c in campaigns:
                await asyncio.to_thread(api.command, c["id"], "stop")
        callers = [server.caller_ids[n] for n in number_ids]
        await wait_idle(witness, callers, 30)
        gateway_rate = done_calls / (ended - started)
        first_channel = min(witness.created_times(callers))

        # Caps, from the Asterisk side.
        violations = []
        for number_id, caller in zip(number_ids, callers, strict=True):
            seen = max(witness.max_live([caller]), witness.max_sampled([caller]))
            if seen > args.concurrency:
                violations.append(f"campaign {number_id}: {seen} > {args.concurrency} channels")
        seen = max(witness.max_live(callers), witness.max_sampled(callers))
        if seen > total_concurrency:
            violations.append(f"tenant/host: {seen} > {total_concurrency} channels")
        window = max_in_window(witness.created_times(callers))
        if window > args.cps + 1:
            violations.append(f"tenant/host: {window} new channels in 1 s > {args.cps} + 1")
        lat, matched, unmatched = latencies(witness, streams, callers)
        for stream in streams:
            await stream.stop()

        # The bare client, same numbers, same caps.
        bare = BareAmi(ami)
        await bare.connect()
        bare_caller = random_caller_id()
        bare_first, bare_last = await bare.run(phones_all, total_concurrency, args.cps, bare_caller)
        await bare.close()
        await wait_idle(witness, [bare_caller], 30)
        bare_rate = total / (bare_last - bare_first)
        bare_peak = witness.max_live([bare_caller])
    finally:
        await witness.close()
        code = await asyncio.to_thread(server.stop)
    print(
        f"gateway: {done_calls} calls ({completed} completed, {failed} failed) in "
        f"{ended - started:.1f} s from the start requests (first channel after "
        f"{first_channel - started:.2f} s): {gateway_rate:.1f} calls/s; peak "
        f"{witness.max_live(callers)} channels alive"
    )
    print(
        f"bare AMI client: {total} calls ({bare.answered} answered) in "
        f"{bare_last - bare_first:.1f} s: {bare_rate:.1f} calls/s; peak {bare_peak} alive"
    )
    print(f"ratio gateway / bare: {gateway_rate / bare_rate:.2f}")
    print(f"cap violations seen on Asterisk: {len(violations)} {violations or ''}")
    print(
        f"gateway CPU: {cpu:.2f} s for {done_calls} calls = "
        f"{cpu / max(done_calls, 1) * 1000:.2f} s per 1000 calls"
    )
    print(
        f"AMI event -> SSE latency: p50 {percentile(lat, 50) * 1000:.1f} ms, "
        f"p99 {percentile(lat, 99) * 1000:.1f} ms, min {min(lat, default=0) * 1000:.1f} ms, "
        f"max {max(lat, default=0) * 1000:.1f} ms "
        f"({matched} transitions matched, {unmatched} not); mean "
        f"{statistics.fmean(lat) * 1000 if lat else float('nan'):.1f} ms"
    )
    if code != 0:
        print(f"daemon exit code {code} on SIGTERM (log {server.log})", file=sys.stderr)
    return 0 if not violations and code == 0 and not timed_out else 1


def fill_dnc(db: Path, count: int) -> int:
    """`count` numbers on the lists, none of them dialled here: the dial-time check is one
    index probe per call whatever their number, and this shows what it costs."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        tenant = conn.execute("SELECT id FROM tenants WHERE name = 'bench'").fetchone()[0]
        rows = ((f"+1212{i:07d}", tenant if i % 2 else 0) for i in range(count))
        conn.executemany(
            "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, ?, 'bench', '2026-12-01T00:00:00Z')",
            rows,
        )
        return conn.execute("SELECT count(*) FROM dnc_numbers").fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=600, help="per campaign (<= 1000)")
    parser.add_argument("--concurrency", type=int, default=100, help="per campaign (<= 100)")
    parser.add_argument("--cps", type=float, default=250.0, help="tenant and host calls/s")
    parser.add_argument("--timeout", type=float, default=150.0)
    parser.add_argument(
        "--calling-hours",
        default="",
        help='operator hours, e.g. "00:00-23:59" (every call checked, all open); default off',
    )
    parser.add_argument("--dnc", type=int, default=0, help="numbers on the do-not-call lists")
    args = parser.parse_args()
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
