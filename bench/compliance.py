"""What lawful dialling costs per call, measured on the real code in one process:

    .venv/bin/python bench/compliance.py [--contacts 20000] [--dnc 1000000]

- the dial-time do-not-call check: `DialStore.begin_attempts` (the transaction that begins
  each attempt, where the check lives) on a real SQLite file, per attempt, with empty lists
  and with `--dnc` numbers on them (half one tenant's, half host-wide), and the ratio;
- the calling-window check the dispatcher makes for every call (`CallingWindows.state`
  and the `dialled` decision's detail) with the operator's hours on, per call, next to the
  same path with them off;
- a zone list's window worked out from scratch (`window_state`), which happens once per
  zone list until its window next changes, not per call;
- head-of-line blocking: a campaign of `--hol-contacts` contacts whose first half (in the
  order they are due) is outside its window (03:00 where they are) and whose second half
  is inside it (12:00), through the dispatcher's own `RunningCampaign.next_target` and
  `begin_attempts`, next to a campaign of the inside half alone: the time until the first
  100 inside contacts are begun (one batch), and until all of them are, and that every
  outside contact still waits, `pending`, with `next_attempt_at` at its 08:00.

Compare the per-call figures with the daemon's CPU per call that bench/dial.py prints
(about 5 ms a call on these machines): the checks are a few µs of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.dialer.running import RunningCampaign
from gateway.dialer.windows import CallingWindows
from gateway.domain.model import Campaign, CampaignStatus
from gateway.domain.window import DailyWindow, window_state
from gateway.store.campaigns import campaign_from_row
from gateway.store.dialing import DialStore, DialTarget, Pick
from gateway.store.sqlite import SqliteStore

BATCH = 100  # picks per begin_attempts, as the dispatcher makes them at 100 concurrent


async def make_campaign(
    store: SqliteStore,
    contacts: int,
    zone_sets: list[list[str]] | None = None,
    zone_of: Callable[[int], int] = lambda _i: 0,
) -> Campaign:
    """A running campaign of `contacts` +1 415 numbers; contact i in zone list zone_of(i)
    of `zone_sets` (default one list, Los Angeles)."""
    await store.tenants.create("bench", 1000, 1000)
    pk, _ = await store.campaigns.begin_import(1, "bench")
    rows = [[i + 2, f"+1415{2000000 + i:07d}", [], zone_of(i)] for i in range(contacts)]
    await store.db.execute(
        "INSERT INTO contacts (campaign_pk, row_number, phone_number, custom_fields, zone_set)"
        " SELECT ?, value ->> 0, value ->> 1, value -> 2, value ->> 3 FROM json_each(?)",
        (pk, json.dumps(rows)),
    )
    await store.db.execute(
        "UPDATE campaigns SET status = 'running', name = 'bench', n_total = ?, n_pending = ?,"
        " max_concurrent_calls = 100, zone_sets = ? WHERE pk = ?",
        (contacts, contacts, json.dumps(zone_sets or [["America/Los_Angeles"]]), pk),
    )
    row = await store.db.fetch_one("SELECT * FROM campaigns WHERE pk = ?", (pk,))
    return campaign_from_row(row)


def fill_dnc(path: Path, count: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, ?, 'bench', '2026-12-01T00:00:00Z')",
            ((f"+1212{i:07d}", 1 if i % 2 else 0) for i in range(count)),
        )


async def begin_all(path: Path, contacts: int, dnc: int) -> float:
    """µs per attempt begun, over every contact, BATCH at a time."""
    store = await SqliteStore.open(str(path))
    try:
        campaign = await make_campaign(store, contacts)
        if dnc:
            await store.close()
            fill_dnc(path, dnc)
            store = await SqliteStore.open(str(path))
        dial = DialStore(store.db, allow_premium=False)
        rows = await store.db.fetch_all(
            "SELECT id FROM contacts WHERE campaign_pk = ? ORDER BY id", (campaign.pk,)
        )
        ids = [r[0] for r in rows]
        started = time.perf_counter()
        for i in range(0, len(ids), BATCH):
            picks = [
                Pick(
                    DialTarget(cid, f"+1415{2000000 + cid:07d}", [], 1, 0),
                    f"b-{cid}-1",
                    "attempt 1",
                )
                for cid in ids[i : i + BATCH]
            ]
            began = await dial.begin_attempts(campaign, picks, time.time())
            assert all(began), "every attempt begins (none of these numbers is listed)"
        return (time.perf_counter() - started) / len(ids) * 1e6
    finally:
        await store.close()


def zone_at(local_hour: int, now: datetime) -> str:
    """An Etc/GMT±N zone where the local hour is `local_hour` now."""
    offset = (local_hour - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"


async def head_of_line(path: Path, outside: int, inside: int) -> tuple[float, float, int]:
    """Begin every inside contact of a campaign whose `outside` contacts, due first, are
    outside their window: (seconds to the first begun, seconds to all, contacts waiting)."""
    now = datetime.now(UTC)
    night, noon = zone_at(3, now), zone_at(12, now)
    store = await SqliteStore.open(str(path))
    try:
        campaign = await make_campaign(
            store, outside + inside, [[night], [noon]], lambda i: 0 if i < outside else 1
        )
        pk = campaign.pk
        tenant = await store.tenants.by_name("bench")
        dial = DialStore(store.db, allow_premium=False)
        windows = CallingWindows(DailyWindow.parse("08:00-21:00"))
        running = RunningCampaign(campaign, tenant)
        started = time.perf_counter()
        first, begun = 0.0, 0
        while begun < inside:
            batch = []
            while len(batch) < BATCH and begun + len(batch) < inside:
                target = await running.next_target(dial, windows)
                assert target is not None and target.zone_set == 1, target
                batch.append(Pick(target, f"b-{target.contact_id}-1", "attempt 1"))
            began = await dial.begin_attempts(campaign, batch, time.time())
            assert all(began)
            begun += len(batch)
            first = first or time.perf_counter() - started
        elapsed = time.perf_counter() - started
        opens = (now.astimezone(ZoneInfo(night)) + timedelta(hours=5)).replace(
            minute=0, second=0, microsecond=0
        )
        waiting = await store.db.fetch_value(
            "SELECT count(*) FROM contacts WHERE campaign_pk = ? AND zone_set = 0"
            " AND status = 'pending' AND abs(next_attempt_at - ?) < 1",
            (pk, opens.timestamp()),
        )
        return first, elapsed, int(waiting)
    finally:
        await store.close()


def window_per_call(campaign: Campaign, hours: str, calls: int) -> float:
    windows = CallingWindows(DailyWindow.parse(hours))
    now = datetime.now(UTC)
    started = time.perf_counter()
    for i in range(calls):
        state = windows.state(campaign, 0, now)
        assert state.open
        windows.dialled_detail(campaign, 0, 1 + i % 3, now)
    return (time.perf_counter() - started) / calls * 1e6


async def bench(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-compliance-"))
    runs: dict[str, list[float]] = {"empty": [], "listed": []}
    await begin_all(folder / "warm.db", args.contacts, 0)  # page cache, imports, JIT-less warm-up
    for round_ in range(args.rounds):  # alternating, so a slower machine hits both alike
        order = ("empty", "listed") if round_ % 2 == 0 else ("listed", "empty")
        for kind in order:
            dnc = args.dnc if kind == "listed" else 0
            runs[kind].append(await begin_all(folder / f"{kind}{round_}.db", args.contacts, dnc))
    empty, listed = (statistics.median(runs[k]) for k in ("empty", "listed"))
    print(f"begin_attempts, {args.contacts} attempts in batches of {BATCH}, median of "
          f"{args.rounds} runs:")  # fmt: skip
    print(f"  empty do-not-call lists:        {empty:7.1f} µs per attempt")
    print(f"  {args.dnc:,} numbers listed:  {listed:7.1f} µs per attempt")
    print(f"  ratio listed / empty:           {listed / empty:7.3f}")

    store = await SqliteStore.open(str(folder / "w.db"))
    campaign = await make_campaign(store, 1)
    await store.close()
    calls = 200_000
    off = window_per_call(campaign, "", calls)
    on = window_per_call(campaign, "00:00-23:59", calls)
    print(f"calling-window check per call ({calls:,} calls; 'on' is hours of 00:00-23:59):")
    print(f"  hours off: {off:5.2f} µs   hours on: {on:5.2f} µs   difference {on - off:+.2f} µs")
    zones = ["America/Boise", "America/Los_Angeles"]
    window = DailyWindow.parse("08:00-21:00")
    started = time.perf_counter()
    for _ in range(2000):
        window_state(zones, window, datetime.now(UTC))
    fresh = (time.perf_counter() - started) / 2000 * 1e6
    print(f"a zone list's window from scratch (Boise + Los Angeles): {fresh:.0f} µs, once per"
          " zone list until it next changes")  # fmt: skip
    assert campaign.status is CampaignStatus.RUNNING

    half = args.hol_contacts // 2
    print(f"head-of-line: {args.hol_contacts:,} contacts, the first {half:,} due outside their"
          " window (03:00 local), the rest inside (12:00):")  # fmt: skip
    first, alone, _ = await head_of_line(folder / "alone.db", 0, half)
    print(f"  the inside {half:,} alone:        first 100 begun after {first * 1e3:6.1f} ms,"
          f" all after {alone:5.2f} s")  # fmt: skip
    first, mixed, waiting = await head_of_line(folder / "mixed.db", half, half)
    print(f"  behind {half:,} outside ones:    first 100 begun after {first * 1e3:6.1f} ms,"
          f" all after {mixed:5.2f} s (ratio {mixed / alone:.3f});"
          f" outside ones waiting for 08:00: {waiting:,} of {half:,}")  # fmt: skip
    return 0 if waiting == half else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--dnc", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hol-contacts", type=int, default=100_000)
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
