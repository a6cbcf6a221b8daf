"""Races found by review: a place held again by reconciliation must be freed by the
replayed end; a shutdown while attempts are being committed must not leave them begun
and never sent (they would be settled lost, never dialled, after the restart)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import pytest

from gateway.http.keys import READINESS, STORE
from gateway.store.dialing import DialStore, End
from tests.helpers import new_tenant
from tests.unit.dialer.harness import Env, command, create, wait_status
from tests.unit.dialer.support import number, until


async def test_an_end_replayed_for_a_settled_attempt_still_frees_its_place(env: Env) -> None:
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    cid = await create(api, [number(1, 0)])
    await command(api, cid, "start")
    await wait_status(api, cid, "completed")
    attempt = env.fake.originates[0].attempt_id
    store = DialStore(client.app[STORE].db, allow_premium=False)
    # Reconciliation read the attempt as open just before its end was written, held its
    # place again, and judged it lost: that End replays a settled attempt.
    applied = await store.apply([End(attempt, time.time(), lost=True, reason="gone")])
    assert applied.ended == [attempt]  # so the recorder releases the place held again
    assert applied.outcomes == [] and applied.campaigns == set()  # and nothing changed


async def test_a_shutdown_while_attempts_are_committed_undoes_them(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = asyncio.Event()
    resume = asyncio.Event()
    original = DialStore.begin_attempts

    async def begin_attempts(self: DialStore, *args: Any) -> list[bool]:
        began = await original(self, *args)  # committed in the database
        committed.set()
        await resume.wait()  # the shutdown comes now, before any Originate is sent
        return began

    monkeypatch.setattr(DialStore, "begin_attempts", begin_attempts)
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    cid = await create(api, [number(i, 0) for i in range(5)], max_concurrent_calls=5)
    dispatcher = client.app[READINESS].__self__
    await command(api, cid, "start")
    await until(committed.is_set, 5, "a round of attempts committed")
    closing = asyncio.create_task(client.close())  # SIGTERM: the app's cleanup runs
    await until(lambda: dispatcher._closing, 5, "the dispatcher to be closing")
    resume.set()
    async with asyncio.timeout(15):
        await closing
    conn = sqlite3.connect(env.config().db_path)
    statuses = dict(conn.execute("SELECT status, count(*) FROM contacts GROUP BY status"))
    open_attempts = conn.execute("SELECT count(*) FROM attempts WHERE status != 'ended'")
    assert statuses == {"pending": 5}, statuses  # undone: dialled after the restart
    assert open_attempts.fetchone()[0] == 0
    assert env.fake.originates == []
