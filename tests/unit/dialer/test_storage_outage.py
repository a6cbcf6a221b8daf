"""No outcome is lost when the storage fails, and dialling recovers by itself (issue 13,
item 4). Seen before: the database's file system full for 6 s mid-campaign; a batch of
call events was dropped, 20 contacts stayed `connected` for ever holding their places,
the 264 still pending were never dialled, and an upload got a 500."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from gateway.http.keys import READINESS, STORE
from gateway.store import database, settling
from tests.helpers import csv_of, new_tenant
from tests.unit.dialer.harness import (
    QUIET,
    Env,
    assert_each_dialled_once,
    at_least,
    campaign,
    command,
    contacts,
    create,
    having,
    stays,
    stored_events,
    wait_contacts,
    wait_status,
)
from tests.unit.dialer.support import number, until


def disk_full() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = 13  # SQLITE_FULL
    error.sqlite_errorname = "SQLITE_FULL"
    return error


async def assert_every_outcome_landed(env: Env, client: Any, api: Any, cid: str,
                                      phones: list[str]) -> None:  # fmt: skip
    body = await wait_status(api, cid, "completed", within=30)
    assert body["counts"]["completed"] == len(phones)
    assert_each_dialled_once(env.fake.originates, phones)
    path: dict[int, list[tuple[str, str]]] = {}
    for _, kind, data in await stored_events(client, cid):
        if kind == "contact":
            path.setdefault(data["contact_id"], []).append((data["from"], data["to"]))
    expected = [("pending", "originated"), ("originated", "connected"), ("connected", "completed")]
    assert {tuple(p) for p in path.values()} == {tuple(expected)}
    recount = await client.app[STORE].db.fetch_all(
        "SELECT k.status, count(*) FROM contacts k JOIN campaigns c ON c.pk = k.campaign_pk"
        " WHERE c.id = ? GROUP BY k.status",
        (cid,),
    )
    assert {r[0]: r[1] for r in recount} == {"completed": len(phones)}


async def test_an_outage_delays_outcomes_but_loses_none(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = env.fake
    fake.talk = 0.3
    outage = False
    real = database._in_transaction

    def failing(conn: sqlite3.Connection, work: Any) -> Any:
        if outage:
            raise disk_full()
        return real(conn, work)

    monkeypatch.setattr(database, "_in_transaction", failing)
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(30)]
    cid = await create(api, phones, max_concurrent_calls=5)
    with capture_logs() as logs:
        await command(api, cid, "start")
        await wait_contacts(api, cid, at_least("completed", 5))
        outage = True
        # Calls in flight end meanwhile; their events wait, and nothing new is dialled.
        await until(lambda: not fake.live(), 5, "the calls in flight to end")
        await until(lambda: "storage" in client.app[READINESS]().get("calls", ""), 5,
                    "readiness to tell the call events wait for the storage")  # fmt: skip
        sent = len(fake.originates)
        await stays(lambda: len(fake.originates) == sent, QUIET, "an Originate not recorded")
        response = await api.request("GET", f"/campaigns/{cid}")
        assert response.status == 200  # reads still answer
        outage = False
        await assert_every_outcome_landed(env, client, api, cid, phones)
    assert client.app[READINESS]()["calls"] == ""
    assert any(e["event"] == "call events wait for the storage" for e in logs)


async def test_one_event_that_cannot_be_applied_is_set_apart_not_the_batch(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = settling._end
    poisoned = number(3, 0)

    def end(conn: sqlite3.Connection, row: Any, *args: Any) -> str:
        if row["phone_number"] == poisoned:
            raise ValueError("a bug in one event")
        return real(conn, row, *args)

    monkeypatch.setattr(settling, "_end", end)
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(6)]
    cid = await create(api, phones, max_concurrent_calls=1)
    with capture_logs() as logs:
        await command(api, cid, "start")
        # One place: every later contact was dialled, so the set-apart call freed it.
        found = await wait_contacts(api, cid, having("completed", 5), within=15)
    # Its end could not be applied as such, but it still ended: final, with the reason,
    # so the campaign completes.
    await wait_status(api, cid, "completed")
    found = await contacts(api, cid)
    assert (found[poisoned]["status"], found[poisoned]["last_outcome"]) == ("completed", "answered")
    assert (
        "could not be recorded: ValueError: a bug in one event"
        in (found[poisoned]["hangup_cause_text"])
    )
    apart = [e for e in logs if e["event"] == "call event set apart: it cannot be applied"]
    assert len(apart) == 1 and apart[0]["attempt_id"].endswith(f"-{found[poisoned]['id']}-1")
    assert "a bug in one event" in apart[0]["error"]
    assert len(env.fake.originates) == 6


# -- a real full file system ---------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of our own: the database lives on it and the test fills it. (Larger
    than SQLite's WAL grows before a checkpoint, 4 MB: on a smaller disk the WAL alone can
    fill it again once space is back, as no real disk would be.)"""
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (scripts/test runs as root)", pytrace=False)
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until not one more byte fits."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


async def test_a_full_file_system_mid_campaign(small_disk: Path, env: Env) -> None:
    fake = env.fake
    fake.talk = 0.3
    client = await env.gateway(db_path=str(small_disk / "gateway.db"))
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(40)]
    cid = await create(api, phones, max_concurrent_calls=5)
    with capture_logs() as logs:
        await command(api, cid, "start")
        await wait_contacts(api, cid, at_least("completed", 5))
        filler = fill(small_disk)
        response = await api.create(csv_of(20000, start=100000))
        body = await response.json()
        assert response.status == 507, body
        assert "full" in body["error"]
        listed = await api.request("GET", "/campaigns")
        assert listed.status == 200 and (await listed.json())["total"] == 1
        await until(lambda: "full" in client.app[READINESS]().get("calls", ""), 10,
                    "the call events to wait for the storage")  # fmt: skip
        assert (await campaign(api, cid))["status"] == "running"
        filler.unlink()
        await assert_every_outcome_landed(env, client, api, cid, phones)
    assert any(e["event"] == "call events wait for the storage" for e in logs)
    assert any(e["event"] == "call events are written again" for e in logs)
    found = await contacts(api, cid)
    assert all(c["talk_seconds"] is not None for c in found.values())
