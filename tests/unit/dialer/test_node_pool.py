"""NodePool's bookkeeping of a node's logins, with the telephony port stubbed (its own
behaviour on the wire is tested from transcripts in tests/unit/ami): a reconciliation
that ends after its connection dropped never makes the node ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gateway.daemon.metrics import Metrics
from gateway.dialer.nodes import NodePool
from gateway.dialer.recorder import CallRecorder
from gateway.domain.calls import TelephonyState
from gateway.domain.capacity import Capacity, NodeLimits
from gateway.events import EventBus


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


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


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
        await settle()
        assert len(telephony.listings) == 1 and pool["a"].state() == "reconciling"
        telephony.change(logged_in=False)
        telephony.change(logged_in=True)  # login 2 begins its own
        telephony.change(logged_in=True)  # a second notice of the same login: no third
        await settle()
        assert len(telephony.listings) == 2
        telephony.listings[0].set_result(set())  # login 1's listing answers late
        await settle()
        assert not pool["a"].ready and pool.usable(["a"]) == [] and woken == []
        telephony.listings[1].set_result(set())
        await settle()
        assert pool["a"].ready and pool.usable(["a"]) == ["a"] and woken == [True]
        assert metrics.registry.get_sample_value("gateway_ami_logged_in", {"node": "a"}) == 1
    finally:
        await pool.close()
