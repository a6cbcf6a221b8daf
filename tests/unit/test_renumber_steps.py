"""The re-reading of stored numbers (gateway.store.renumber) in batches: interrupted by an
error or by SIGKILL mid-way, it loses no do-not-call entry and the next start finishes it
with the same result as one uninterrupted run."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from gateway.store import renumber
from gateway.store.database import Database
from gateway.store.renumber import renumber_stored_numbers
from tests.recount import recount_mismatches

ROOT = Path(__file__).resolve().parents[2]
THEN = "2026-11-01T10:00:00.000Z"


def old_form(i: int) -> str:
    """How the old reader stored `8 029 ...` in Belarus: +375 0 29 ... (9 digits on)."""
    return f"+37502{9}{1000000 + i:07d}"


def new_form(i: int) -> str:
    return f"+3752{9}{1000000 + i:07d}"


async def build(path: Path, contacts: int, dnc: int) -> None:
    """A database at today's schema (its 0007 marker still there) holding old numbers:
    `contacts` pending ones in a running campaign, every third also invalid, and `dnc`
    old-form entries on the tenant's list."""
    db = await Database.open(path)

    def work(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO tenants VALUES (1, 'acme', 10, 5, ?)", (THEN,))
        conn.execute(
            "INSERT INTO campaigns (pk, id, tenant_id, name, status, agent_id, phone_number_id,"
            " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
            " ring_timeout_seconds, timezone, created_at, created_by, custom_field_names,"
            " zone_sets, n_total, n_pending) VALUES (1, 'c1', 1, 'old', 'running', 'ivr',"
            " 'main', 5, 0, 60, 30, 'UTC', ?, 'a', '[]', '[]', ?, ?)",
            (THEN, contacts, contacts),
        )
        conn.executemany(
            "INSERT INTO contacts (campaign_pk, row_number, phone_number, custom_fields)"
            " VALUES (1, ?, ?, '[]')",
            [(i + 2, f"+1155{i:07d}" if i % 3 == 2 else old_form(i)) for i in range(contacts)],
        )
        conn.executemany(
            "INSERT INTO dnc_numbers VALUES (?, 1, 'old', ?)",
            [(old_form(10_000_00 + i), THEN) for i in range(dnc)],
        )

    await db.run(work)
    await db.close()


def state(path: Path) -> dict[str, Any]:
    """What the steps decide, without the times they ran at."""
    conn = sqlite3.connect(path)
    try:
        return {
            "contacts": conn.execute(
                "SELECT id, phone_number, status, last_outcome, zone_set FROM contacts ORDER BY id"
            ).fetchall(),
            "dnc": conn.execute("SELECT * FROM dnc_numbers ORDER BY 1, 2").fetchall(),
            "decisions": conn.execute(
                "SELECT contact_id, decision, detail FROM decisions ORDER BY contact_id"
            ).fetchall(),
            "events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
            "campaign": conn.execute(
                "SELECT status, n_pending, n_failed, n_cancelled, zone_sets FROM campaigns"
            ).fetchall(),
            "steps": conn.execute("SELECT * FROM upgrade_steps").fetchall(),
        }
    finally:
        conn.close()


async def run_steps(path: Path, progress: Any = None) -> renumber.Renumbered:
    db = await Database.open(path)
    try:
        return await renumber_stored_numbers(db, "US", allow_premium=False, progress=progress)
    finally:
        await db.close()


async def test_in_batches_with_one_log_line(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(renumber, "CHUNK", 4)
    path = tmp_path / "g.db"
    await build(path, contacts=10, dnc=9)
    told: list[int] = []
    with capture_logs() as logs:
        done = await run_steps(path, progress=told.append)
    # after each batch: the lists' 18 reads in 5 batches of 4, then 3 of contacts
    assert told == [4, 8, 12, 16, 18, 22, 26, 28]
    lines = [e for e in logs if e["event"].startswith("stored numbers read again")]
    assert len(lines) == 1
    assert lines[0] | done.as_log() == lines[0]  # the counts are in it
    # read: the 9 entries, then the 9 re-read forms, met after them
    assert done.as_log() == {
        "dnc_read": 18, "dnc_added": 9, "dnc_unreadable": 0, "contacts_read": 10,
        "renumbered": 7, "failed_invalid": 3, "failed_dnc": 0, "cancelled_duplicate": 0,
        "in_call_refused": 0,
    }  # fmt: skip
    after = state(path)
    assert {n for n, _, _, _ in after["dnc"]} == {
        form(10_000_00 + i) for i in range(9) for form in (old_form, new_form)
    }
    assert [c[1:4] for c in after["contacts"]] == [
        (f"+1155{i:07d}", "failed", "invalid_number") if i % 3 == 2
        else (new_form(i), "pending", None)
        for i in range(10)
    ]  # fmt: skip
    assert after["campaign"][0][:4] == ("running", 7, 3, 0)
    assert after["steps"] == []
    assert recount_mismatches(path) == []
    with capture_logs() as logs:
        assert (await run_steps(path)).steps == 0  # done: nothing, and nothing logged
    assert logs == []
    assert state(path) == after


async def test_an_error_mid_way_then_a_restart_gives_the_same_result(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(renumber, "CHUNK", 3)
    path, whole = tmp_path / "g.db", tmp_path / "whole.db"
    await build(path, contacts=20, dnc=10)
    shutil.copy(path, whole)
    await run_steps(whole)
    calls = 0
    real_run = Database.run

    async def failing_run(self: Database, work: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 9:  # the contacts' second batch (the lists took 7): part done
            raise sqlite3.OperationalError("disk I/O error")
        return await real_run(self, work)

    monkeypatch.setattr(Database, "run", failing_run)
    with pytest.raises(sqlite3.OperationalError):
        await run_steps(path)
    monkeypatch.setattr(Database, "run", real_run)
    cut = state(path)
    assert [name for name, _ in cut["steps"]] == ["renumber contacts"]
    assert recount_mismatches(path) == []  # each batch left the counts right
    await run_steps(path)
    assert state(path) == state(whole)


CHILD = """
import asyncio, sys, time
from gateway.store import renumber
from gateway.store.database import Database
renumber.CHUNK = 500
real = renumber._step_done
def slow(conn, name, position):  # a batch takes a while, before its commit
    real(conn, name, position)
    time.sleep(0.02)
renumber._step_done = slow
async def main():
    db = await Database.open(sys.argv[1])
    await renumber.renumber_stored_numbers(db, "US", allow_premium=False)
asyncio.run(main())
"""


def test_sigkill_mid_way_loses_no_entry(tmp_path: Path) -> None:
    path, whole = tmp_path / "g.db", tmp_path / "whole.db"
    asyncio.run(build(path, contacts=20_000, dnc=20_000))
    shutil.copy(path, whole)
    before = set(state(path)["dnc"])
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT)
    deadline = time.monotonic() + 60
    progressed = False
    try:
        while time.monotonic() < deadline and child.poll() is None:
            conn = sqlite3.connect(path)
            try:
                steps = dict(conn.execute("SELECT * FROM upgrade_steps").fetchall())
            except sqlite3.OperationalError:
                steps = {}  # the child's writer holds the file for a moment
            finally:
                conn.close()
            if steps.get("renumber contacts"):  # the lists done, contacts under way
                progressed = True
                break
            time.sleep(0.005)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert progressed, "the child finished or stalled before it could be killed"
    cut = state(path)
    assert cut["steps"], "killed after it finished: nothing tested"
    assert before <= set(cut["dnc"])  # nothing left the list
    assert recount_mismatches(path) == []
    asyncio.run(run_steps(whole))
    asyncio.run(run_steps(path))  # the next start finishes it
    assert state(path) == state(whole)
