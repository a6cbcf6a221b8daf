"""What the dialling benchmark's two forms share: bench/dial.py (one Asterisk) and
bench/nodes.py (`--nodes 2`, a pool of two). The bare asyncio AMI client, on one node or
spread over several; one gateway run of the workload, seen on its event streams and by
our own AMI login on every node; the caps as those logins saw them; CPU meters.

Times of the witnesses (one per node) and of the SSE readers all come from
time.monotonic() in this one process, so channels of several nodes can be merged: the
concurrency across nodes is the overlap of every node's channel lives together.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.nodes import RUN, node_pid
from tests.integration.support import (
    AmiSettings,
    AmiWitness,
    Api,
    Call,
    Gateway,
    GatewayOptions,
    SseReader,
    max_in_window,
    max_overlap,
    numbers,
)

RING_TIMEOUT_S = 5
FINAL = {"completed", "failed", "cancelled"}
DEBUG = bool(os.environ.get("BENCH_DEBUG"))
TICK = os.sysconf("SC_CLK_TCK")
FOREVER = 1e12  # a channel whose Hangup was not seen lives for ever


def share(total: int, parts: int) -> list[int]:
    """`total` cut into `parts` whole shares as even as can be (the first ones larger)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def number_ids(args: argparse.Namespace) -> list[str]:
    """One phone number (so one caller ID) per campaign: channels are told apart by it."""
    return ["main"] + [f"p{i}" for i in range(2, args.campaigns + 1)]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------------------
# CPU


def proc_cpu(pid: int | None) -> float:
    """utime + stime of a process, from /proc/PID/stat; 0 when it does not run."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def sandbox_pids(asterisks: dict[str, str]) -> dict[str, int | None]:
    """The pids for CpuMeter of the sandbox's Asterisk nodes (name: node id) and of SIPp
    (None: not running)."""
    pids = {name: node_pid(node) for name, node in asterisks.items()}
    try:
        sipp = int((RUN / "sipp.pid").read_text())
        alive = Path(f"/proc/{sipp}/comm").read_text().strip() == "sipp"
    except (OSError, ValueError):
        sipp, alive = 0, False
    return {**pids, "sipp": sipp if alive else None}


def machine_cpu() -> tuple[float, float]:
    """CPU seconds every core spent busy (user, nice, system, irq, softirq), and those the
    hypervisor took away (steal), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


class CpuMeter:
    """CPU seconds spent meanwhile by the machine, by each named process and by this one."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.before = self._read()
        self.started = time.monotonic()

    def _read(self) -> dict[str, float]:
        times = os.times()
        found = {name: proc_cpu(pid) for name, pid in self.pids.items()}
        busy, steal = machine_cpu()
        return {"machine": busy, "steal": steal, **found, "bench": times.user + times.system}

    def stop(self) -> dict[str, float]:
        after = self._read()
        spent = {k: after[k] - self.before[k] for k in after}
        spent["rest"] = max(0.0, spent["machine"] - sum(spent[n] for n in (*self.pids, "bench")))
        capacity = (time.monotonic() - self.started) * (os.cpu_count() or 1)
        spent["busy %"] = spent["machine"] / capacity
        spent["steal %"] = spent.pop("steal") / capacity
        return spent


def cpu_line(spent: dict[str, float], calls: int) -> str:
    per = 1000 / max(calls, 1)
    shown = [k for k in spent if k not in ("machine", "busy %", "steal %")]
    return (
        "CPU s per 1000 calls: "
        + ", ".join(f"{k} {spent[k] * per:.2f}" for k in shown)
        + f" (rest: other work on the machine); machine {spent['busy %'] * 100:.0f}% busy"
        f" of {os.cpu_count()} cores, {spent['steal %'] * 100:.0f}% stolen by the host"
    )


# ---------------------------------------------------------------------------------------
# One gateway run


def make_gateway(
    folder: Path, ami: AmiSettings, args: argparse.Namespace, **options: Any
) -> tuple[Gateway, Api]:
    """A started daemon with one phone number per campaign and tenant "bench", capped at
    the workload's total concurrency and `--cps`; `options`: more GatewayOptions (nodes)."""
    total = args.campaigns * args.concurrency
    server = Gateway(
        folder,
        ami,
        GatewayOptions(
            host_max_concurrent_calls=total,
            host_max_calls_per_second=args.cps,
            extra_numbers=tuple(number_ids(args)[1:]),
            calling_hours=args.calling_hours,
            **options,
        ),
    )
    api = server.tenant("bench", max_calls=total, cps=args.cps)
    server.start()
    if args.dnc:
        listed = fill_dnc(folder / "gateway.db", args.dnc)
        print(f"do-not-call lists: {listed} numbers (half the tenant's, half host-wide)")
    return server, api


def fill_dnc(db: Path, count: int) -> int:
    """`count` numbers on the lists, none of them dialled here: the dial-time check is one
    index probe per call whatever their number, and this shows what it costs."""
    with sqlite3.connect(db) as conn:
        tenant = conn.execute("SELECT id FROM tenants WHERE name = 'bench'").fetchone()[0]
        rows = ((f"+1212{i:07d}", tenant if i % 2 else 0) for i in range(count))
        conn.executemany(
            "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, ?, 'bench', '2026-12-01T00:00:00Z')",
            rows,
        )
        return conn.execute("SELECT count(*) FROM dnc_numbers").fetchone()[0]


@dataclass
class GatewayRun:
    completed: int
    failed: int
    seconds: float  # from the start requests to the last contact final
    first_channel: float  # seconds from the start requests to the first Newchannel
    timed_out: bool
    cpu: dict[str, float]
    phones: list[str]
    callers: dict[str, str]  # phone number id: its caller ID
    channels: dict[str, int]  # node: channels of this run its witness saw end
    peaks: dict[str, int]  # node (and "all"): most channels alive at once
    contact_nodes: Counter[str]  # final contacts by their `node`
    violations: dict[str, list[str]]  # "node X" / "across nodes": what broke a cap
    latencies: list[float] = field(default_factory=list)
    matched: int = 0
    unmatched: int = 0

    @property
    def calls(self) -> int:
        return self.completed + self.failed

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


async def run_gateway(
    server: Gateway,
    api: Api,
    args: argparse.Namespace,
    witnesses: dict[str, AmiWitness],
    node_caps: dict[str, tuple[int, float]],
    asterisks: dict[str, int | None],
) -> GatewayRun:
    """The workload through a started daemon: `--campaigns` campaigns of `--contacts`
    answered numbers at `--concurrency` each, started at once, until every contact is
    final on the event streams (or `--timeout`: then they are stopped). `witnesses`: our
    login on each node the run may touch; `node_caps`: each configured node's
    (concurrent, per second) caps (a watched node not among them may take no call)."""
    campaigns, phones_all = [], []
    for i, number_id in enumerate(number_ids(args)):
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
        await SseReader(server.port, api.key, c["id"], reconnect=False).open() for c in campaigns
    ]
    meter = CpuMeter({"gateway": server.pid, **asterisks})
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
    cpu = meter.stop()
    results = [await asyncio.to_thread(api.get, c["id"]) for c in campaigns]
    if timed_out:  # rate from what finished; stop the rest before what comes next
        for c in campaigns:
            await asyncio.to_thread(api.command, c["id"], "stop")
    callers = {n: server.caller_ids[n] for n in number_ids(args)}
    ids = list(callers.values())
    await wait_idle(witnesses.values(), ids, 30)
    contacts = [x for c in campaigns for x in await asyncio.to_thread(api.contacts, c["id"])]
    lives = {n: w.calls_of(ids) for n, w in witnesses.items()}
    run = GatewayRun(
        completed=sum(r["counts"]["completed"] for r in results),
        failed=sum(r["counts"]["failed"] for r in results),
        seconds=ended - started,
        first_channel=min(
            (c.created for n in lives for c in lives[n] if c.created), default=float("nan")
        )
        - started,
        timed_out=timed_out,
        cpu=cpu,
        phones=phones_all,
        callers=callers,
        channels={n: sum(c.hangup is not None for c in lives[n]) for n in lives},
        peaks={n: w.max_live(ids) for n, w in witnesses.items()},
        contact_nodes=Counter(c["node"] for c in contacts if c["status"] in FINAL),
        violations=cap_violations(witnesses, node_caps, callers, args),
    )
    run.peaks["all"] = overlap(c for n in lives for c in lives[n])
    calls = {u: c for w in witnesses.values() for u, c in w.snapshot().items()}
    run.latencies, run.matched, run.unmatched = latencies(calls, streams, ids)
    for stream in streams:
        await stream.stop()
    return run


async def wait_idle(witnesses: Iterable[AmiWitness], caller_ids: list[str], within: float) -> None:
    watching = list(witnesses)
    for _ in range(int(within / 0.2)):
        if not any(w.live(caller_ids) for w in watching):
            return
        await asyncio.sleep(0.2)


def overlap(calls: Iterable[Call]) -> int:
    """Most of these channels (of any nodes) alive at once, from their events."""
    return max_overlap(
        (c.created, c.hangup if c.hangup is not None else FOREVER)
        for c in calls
        if c.created is not None
    )


def cap_violations(
    witnesses: dict[str, AmiWitness],
    node_caps: dict[str, tuple[int, float]],
    callers: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, list[str]]:
    """Each cap as the Asterisk side saw it: per node from its own witness (the exact
    overlap of channel lives, and CoreShowChannels samples), then each campaign and the
    tenant across nodes (lives merged; with one node, its samples too)."""
    ids = list(callers.values())
    found: dict[str, list[str]] = {}
    for node, witness in witnesses.items():
        limit, rate = node_caps.get(node, (0, 0.0))  # not configured: no call at all
        seen = max(witness.max_live(ids), witness.max_sampled(ids))
        window = max_in_window(witness.created_times(ids))
        found[f"node {node}"] = [f"{seen} > {limit} channels"] if seen > limit else []
        if window > (rate + 1 if limit else 0):
            found[f"node {node}"].append(f"{window} new channels in 1 s > {rate} + 1")

    def seen_all(of: list[str]) -> int:
        if len(witnesses) == 1:
            (only,) = witnesses.values()
            return max(only.max_live(of), only.max_sampled(of))
        return overlap(c for w in witnesses.values() for c in w.calls_of(of))

    across = found["across nodes"] = []
    for number_id, caller in callers.items():
        if (seen := seen_all([caller])) > args.concurrency:
            across.append(f"campaign {number_id}: {seen} > {args.concurrency} channels")
    total = args.campaigns * args.concurrency
    if (seen := seen_all(ids)) > total:
        across.append(f"tenant: {seen} > {total} channels")
    window = max_in_window(t for w in witnesses.values() for t in w.created_times(ids))
    if window > args.cps + 1:
        across.append(f"tenant: {window} new channels in 1 s > {args.cps} + 1")
    return found


def latencies(
    calls: dict[str, Call], streams: list[SseReader], caller_ids: list[str]
) -> tuple[list[float], int, int]:
    """(latencies in s, transitions matched, transitions not matched). `calls`: every
    channel the witnesses saw, by Uniqueid (the gateway's attempt id)."""
    by_suffix = {}
    for uid, call in calls.items():
        parts = uid.rsplit("-", 2)
        if call.caller_id not in caller_ids:
            continue
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


def latency_line(run: GatewayRun) -> str:
    lat = run.latencies
    mean = sum(lat) / len(lat) * 1000 if lat else float("nan")
    return (
        f"AMI event -> SSE latency: p50 {percentile(lat, 50) * 1000:.1f} ms, "
        f"p99 {percentile(lat, 99) * 1000:.1f} ms, min {min(lat, default=0) * 1000:.1f} ms, "
        f"max {max(lat, default=0) * 1000:.1f} ms "
        f"({run.matched} transitions matched, {run.unmatched} not); mean {mean:.1f} ms"
    )
