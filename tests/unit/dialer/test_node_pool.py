"""NodePool's bookkeeping of a node's logins, with the telephony port stubbed (its own
behaviour on the wire is tested from transcripts in tests/unit/ami): a reconciliation
that ends after its connection dropped never makes the node ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from gateway.daemon.metrics import Metrics
from gateway.dialer import nodes
from gateway.dialer.nodes import NodePool
from gateway.dialer.recorder import CallRecorder
from gateway.domain.calls import TelephonyState
from gateway.domain.capacity import Capacity, NodeLimits
from gateway.domain.model import CampaignKey
from gateway.events import EventBus
from gateway.store.dialing import OpenAttempt
from tests.unit.dialer.support import until


class StubTelephony:
    """The port, with live_attempts() held until the test releases it."""

    def __init__(self) -> None:
        self.state = TelephonyState(connected=False, logged_in=False)
        self.listings: list[asyncio.Future[set[str]]] = []
        self._listeners: list[Callable[[TelephonyState], None]] = []

    def on_call_event(self, callback: Any) -> None:
        pass

    def on_state_change(self, callback: Callable[[TelephonyState], None]) -> None:
        self._listeners.append(callback)

    def change(self, logged_in: bool) -> None:
        self.state = TelephonyState(connected=logged_in, logged_in=logged_in)
        for listener in self._listeners:
            listener(self.state)

    async def live_attempts(self) -> set[str]:
        listing: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self.listings.append(listing)
        return await listing

    def tracked(self) -> set[str]:
        return set()

    def forget(self, attempt_id: str) -> None:
        pass

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


class NoAttempts:
    async def open_attempts(self, *args: Any) -> list[Any]:
        return []


def listed(telephony: StubTelephony, count: int) -> Callable[[], bool]:
    """The node's reconciliations have asked Asterisk for its channels `count` times."""
    return lambda: len(telephony.listings) == count


async def test_a_reconciliation_outlived_by_its_login_does_not_make_the_node_ready() -> None:
    telephony = StubTelephony()
    limits = NodeLimits("a", 10, 10.0)
    capacity = Capacity([limits], 0.0)
    metrics = Metrics()
    store: Any = NoAttempts()
    recorder = CallRecorder(store, capacity, EventBus(), metrics, lambda: None)
    woken: list[bool] = []
    pool = NodePool([(limits, telephony)], store, capacity, recorder, metrics, 300.0,
                    lambda: woken.append(True))  # fmt: skip
    await pool.start()
    try:
        telephony.change(logged_in=True)  # login 1: its reconciliation lists the channels
        await until(listed(telephony, 1), 5, "login 1's listing")
        assert pool["a"].state() == "reconciling"
        telephony.change(logged_in=False)
        telephony.change(logged_in=True)  # login 2 begins its own
        telephony.change(logged_in=True)  # a second notice of the same login: no third
        await until(listed(telephony, 2), 5, "login 2's listing")
        with capture_logs() as logs:
            telephony.listings[0].set_result(set())  # login 1's listing answers late
            await until(lambda: any(e["event"] == "reconciled with Asterisk" for e in logs),
                        5, "login 1's reconciliation ended")  # fmt: skip
        assert not pool["a"].ready and pool.usable(["a"]) == [] and woken == []
        assert len(telephony.listings) == 2
        telephony.listings[1].set_result(set())
        await until(lambda: pool["a"].ready, 5, "ready after login 2's reconciliation")
        assert pool.usable(["a"]) == ["a"] and woken == [True]
        assert metrics.registry.get_sample_value("gateway_ami_logged_in", {"node": "a"}) == 1
    finally:
        await pool.close()


class Recorded:
    """Stands in for the CallRecorder: the changes put, in order."""

    def __init__(self) -> None:
        self.changes: list[Any] = []
        self.unassigned_node = ""

    def put(self, change: Any) -> None:
        self.changes.append(change)

    def call_event(self, event: Any) -> None:
        pass


class OpenOnes:
    """The store's open attempts, and who asked for which."""

    def __init__(self, attempts: list[OpenAttempt]) -> None:
        self.attempts = attempts
        self.asked: list[tuple[Any, ...]] = []

    async def open_attempts(self, *args: Any) -> list[OpenAttempt]:
        self.asked.append(args)
        if not args:
            return list(self.attempts)
        node, unassigned, adopted = args
        return [a for a in self.attempts if a.node == node or (unassigned and a.node in
                (None, adopted))]  # fmt: skip


KEY = CampaignKey(1, "c1")


def two_nodes(store: Any, recorder: Any, lost_after: float = 300.0) -> tuple[NodePool, ...]:
    a, b = NodeLimits("a", 10, 10.0), NodeLimits("b", 10, 10.0)
    capacity = Capacity([a, b], 0.0)
    pool = NodePool([(a, StubTelephony()), (b, StubTelephony())], store, capacity, recorder,
                    Metrics(), lost_after, lambda: None)  # fmt: skip
    return pool, capacity  # type: ignore[return-value]


async def test_at_start_attempts_go_to_their_node_or_the_first_and_unknown_ones_are_lost() -> None:
    store = OpenOnes([
        OpenAttempt("old", "originated", KEY, None),  # stored before nodes existed
        OpenAttempt("short", "connected", KEY, "default"),  # the shorthand's, now a pool
        OpenAttempt("on-b", "originated", KEY, "b"),
        OpenAttempt("gone", "originated", KEY, "c"),  # a node taken out of the file
    ])  # fmt: skip
    recorder = Recorded()
    pool, capacity = two_nodes(store, recorder)
    await pool.hold_open_attempts()
    assert sorted(capacity.held_campaigns("a")) == ["old", "short"]
    assert list(capacity.held_campaigns("b")) == ["on-b"]
    assert [(c.attempt_id, c.lost) for c in recorder.changes] == [("gone", True)]
    assert "'c' is no longer configured" in recorder.changes[0].reason
    assert recorder.unassigned_node == "a"
    # Each node's reconciliation judges its own; the first also the old and the shorthand's.
    assert [a.id for a in await pool["a"].reconciler._open()] == ["old", "short"]
    assert [a.id for a in await pool["b"].reconciler._open()] == ["on-b"]


async def test_a_node_that_never_logs_in_has_its_written_calls_lost_on_time() -> None:
    store = OpenOnes([OpenAttempt("x", "originated", KEY, "b")])
    recorder = Recorded()
    pool, capacity = two_nodes(store, recorder, lost_after=0.3)
    await pool.hold_open_attempts()
    capacity.hold("y", KEY, "b")  # picked, not yet written: its send undoes it
    pool.unsent.add("y")
    await pool.start()
    try:
        telephony: Any = pool["a"].telephony
        telephony.change(logged_in=True)
        await until(listed(telephony, 1), 5, "node a's listing")
        telephony.listings[0].set_result(set())
        await until(lambda: pool["a"].ready, 5, "node a ready")
        await until(lambda: bool(recorder.changes), 5, "b's call lost")
        assert [(c.attempt_id, c.lost, c.node) for c in recorder.changes] == [("x", True, "b")]
        assert "node 'b' was unreachable for 0.3 s" in recorder.changes[0].reason
        assert not pool["b"].ready
    finally:
        await pool.close()


async def test_a_failed_reconciliation_is_tried_again_while_the_login_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nodes, "RECONCILE_RETRY", (0.01, 0.02))
    store = OpenOnes([])
    pool, _ = two_nodes(store, Recorded(), lost_after=0.2)
    telephony: Any = pool["a"].telephony
    await pool.start()
    try:
        telephony.change(logged_in=True)
        await until(listed(telephony, 1), 5, "the first listing")
        telephony.listings[0].set_exception(TimeoutError("CoreShowChannels: no answer"))
        await until(listed(telephony, 2), 5, "a second listing")
        assert not pool["a"].ready
        telephony.listings[1].set_result(set())
        await until(lambda: pool["a"].ready, 5, "ready after the second listing")
        assert pool["a"].lost_timer is None and pool["a"].down_since is None
    finally:
        await pool.close()
