"""Stop sticks and pause holds: after the answer to a pause or stop no Originate is sent,
a stopped campaign never keeps a pending contact, and a paused one dials nothing until it
is resumed (issue 13, item 3)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from gateway.http.keys import STORE
from gateway.store.dialing import DialStore
from tests.helpers import new_tenant
from tests.unit.dialer.harness import (
    QUIET,
    Env,
    OriginateLog,
    campaign,
    command,
    contacts,
    create,
    having,
    of_campaign,
    stays,
    stored_events,
    wait_contacts,
    wait_status,
)
from tests.unit.dialer.support import number, until


async def test_calls_ringing_at_a_stop_end_final_without_retry(env: Env) -> None:
    """Seen: stopped with 6 calls ringing, they ended busy/no answer with retries left and
    the stopped campaign kept 6 contacts pending for ever."""
    fake = env.fake
    fake.hold_ringing = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 9) for i in range(6)]
    cid = await create(api, phones, max_concurrent_calls=6, retries_per_contact=2)
    await command(api, cid, "start")
    await until(lambda: len(fake.live()) == 6, 5, lambda: f"{len(fake.live())} ringing")
    assert (await command(api, cid, "stop"))["status"] == "stopped"
    for call in fake.live():
        await fake.hang_up(call.id)  # no answer, 480: a retryable outcome

    found = await wait_contacts(api, cid, having("failed", 6))
    assert {(c["last_outcome"], c["attempts"]) for c in found.values()} == {("no_answer", 1)}
    body = await campaign(api, cid)
    assert body["status"] == "stopped"
    assert body["counts"] == {"total": 6, "pending": 0, "originated": 0, "connected": 0,
                              "completed": 0, "failed": 6, "cancelled": 0}  # fmt: skip
    await stays(lambda: len(fake.originates) == 6, QUIET, "an Originate after the stop")


async def test_calls_ending_while_paused_wait_for_the_resume_to_be_retried(env: Env) -> None:
    fake = env.fake
    fake.hold_ringing = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 9) for i in range(3)]
    cid = await create(api, phones, max_concurrent_calls=3, retries_per_contact=1)
    await command(api, cid, "start")
    await until(lambda: len(fake.live()) == 3, 5, "3 ringing")
    await command(api, cid, "pause")
    for call in fake.live():
        await fake.hang_up(call.id)
    found = await wait_contacts(api, cid, having("pending", 3))
    assert {(c["last_outcome"], c["attempts"]) for c in found.values()} == {("no_answer", 1)}
    # Make the retries due now: still nothing is dialled while paused.
    await client.app[STORE].db.execute("UPDATE contacts SET next_attempt_at = 0")
    await stays(lambda: len(fake.originates) == 3, QUIET, "a retry dialled while paused")

    fake.hold_ringing = False
    await command(api, cid, "resume")
    body = await wait_status(api, cid, "completed")
    assert body["counts"]["failed"] == 3
    assert sorted(a.attempt_id[-2:] for a in fake.originates) == ["-1"] * 3 + ["-2"] * 3


async def test_no_originate_is_sent_after_the_answer_to_a_pause_or_stop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pause, resume and stop raced against a dispatcher dialling as fast as it can."""
    sends = OriginateLog(monkeypatch)
    fake = env.fake
    fake.talk = 0.05
    client = await env.gateway(host_max_calls_per_second=2000.0)
    api = await new_tenant(client, "acme", 100, 2000)
    cid = await create(api, [number(i, 0) for i in range(600)], max_concurrent_calls=50)
    rng = random.Random(13)
    await command(api, cid, "start")
    for _ in range(8):
        await until(lambda: bool(sends.sent), 5, "dialling")
        await asyncio.sleep(rng.uniform(0.0, 0.05))  # land the pause anywhere in a round
        await command(api, cid, "pause")
        paused = sends.tick()
        await stays(sends.none_after(paused, cid), 0.3, "an Originate after the pause")
        await command(api, cid, "resume")
        await until(sends.some_after(paused, cid), 5, "dialling after the resume")
    await asyncio.sleep(rng.uniform(0.0, 0.05))
    await command(api, cid, "stop")
    stopped = sends.tick()
    await stays(lambda: not sends.after(stopped, cid), QUIET, "an Originate after the stop")
    body = await wait_status(api, cid, "stopped")
    assert body["counts"]["pending"] == 0
    await until(lambda: not fake.live(), 5, "the calls in flight to end")
    found = await wait_contacts(api, cid, lambda c: all(
        x["status"] in ("completed", "failed", "cancelled") for x in c.values()))  # fmt: skip
    assert sum(c["status"] == "completed" for c in found.values()) == len(fake.originates)


async def test_a_read_of_running_campaigns_from_before_a_pause_cannot_revive_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher's refresh read saw the campaign running; the pause lands while the
    read is on its way back. Seen before: the stale read put the campaign back, and it
    dialled for up to a second after the pause was answered."""
    sends = OriginateLog(monkeypatch)
    fake = env.fake
    fake.hold_answered = True
    held = asyncio.Event()
    release = asyncio.Event()
    hold_next = False
    original = DialStore.running

    async def running(store: DialStore) -> Any:
        found = await original(store)
        if hold_next and found:
            held.set()
            await release.wait()
        return found

    monkeypatch.setattr(DialStore, "running", running)
    # Read for dialling after the pause: what a revived campaign does first (the store's
    # own check in begin_attempts would still stop its Originates; this catches it sooner).
    reads: list[int] = []
    due = DialStore.due_contacts

    async def due_contacts(store: DialStore, pk: int, *args: Any) -> Any:
        reads.append(sends.tick())
        return await due(store, pk, *args)

    monkeypatch.setattr(DialStore, "due_contacts", due_contacts)
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    cid = await create(api, [number(i, 0) for i in range(8)], max_concurrent_calls=2)
    await command(api, cid, "start")
    await until(lambda: len(fake.live()) == 2, 5, "both slots taken")
    hold_next = True
    await until(held.is_set, 5, "a refresh read in flight")
    await command(api, cid, "pause")
    paused = sends.tick()
    hold_next = False
    for call in fake.live():  # free the slots: a revived campaign would dial at once
        await fake.hang_up(call.id)
    await wait_contacts(api, cid, having("completed", 2))
    release.set()
    await stays(lambda: not sends.after(paused, cid), QUIET, "an Originate after the pause")
    assert [t for t in reads if t > paused] == [], "the paused campaign was read for dialling"
    assert (await campaign(api, cid))["counts"]["pending"] == 6
    stored = await stored_events(client, cid)
    assert [d for _, k, d in stored if d.get("outcome") == "not_sent"] == []
    assert len(fake.arrivals(of_campaign(cid))) == 2
    found = await contacts(api, cid)
    assert sum(c["status"] == "completed" for c in found.values()) == 2
