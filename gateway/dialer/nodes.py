"""The pool of Asterisk nodes the dispatcher dials through: one AMI connection, one
reconciler and one health state per node.

A node is usable once it is logged in and reconciled. When its AMI drops it gets no new
call; its calls in flight keep their places, and are reconciled against it when it comes
back (a reconciliation that fails is tried again while the login lasts). If it is not
usable again within `lost_after` seconds of leaving (logins that never got reconciled do
not count), its calls are settled `lost` (never dialled again) and their places freed.
Attempts stored before nodes existed (no node), and those of the one-node shorthand's
`default` once the configuration names other nodes, belong to the first configured node;
attempts of any other node no longer configured are settled `lost` at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from gateway.config import SHORTHAND_NODE
from gateway.daemon.metrics import Metrics
from gateway.dialer.reconcile import Reconciler
from gateway.dialer.recorder import CallRecorder
from gateway.domain.calls import Telephony, TelephonyState
from gateway.domain.capacity import Capacity, NodeLimits
from gateway.store.dialing import DialStore, End

log = structlog.get_logger(__name__)

RECONCILE_GRACE = 1.0  # let events already on the wire arrive before judging
RECONCILE_RETRY = (1.0, 30.0)  # first and longest wait before a failed one is tried again
UNCONFIGURED = "its Asterisk node {node!r} is no longer configured"
NODE_LOST = "its Asterisk node {node!r} was unreachable for {seconds:g} s"


@dataclass
class NodeLink:
    limits: NodeLimits
    telephony: Telephony
    reconciler: Reconciler
    down_since: float | None = None  # monotonic: since it stopped being usable; None: ready
    logins: int = 0  # counts logins: a reconciliation counts only for the login it began on
    logged_in: bool = False  # as its telephony last said
    lost_timer: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.limits.id

    @property
    def ready(self) -> bool:
        return self.telephony.state.logged_in and self.reconciler.ready

    def state(self) -> str:
        """ready, connecting (never logged in yet or reconnecting), reconciling."""
        if not self.telephony.state.logged_in:
            return "connecting"
        return "ready" if self.reconciler.ready else "reconciling"


class NodePool:
    def __init__(
        self,
        nodes: Sequence[tuple[NodeLimits, Telephony]],
        store: DialStore,
        capacity: Capacity,
        recorder: CallRecorder,
        metrics: Metrics,
        lost_after: float,
        on_ready: Callable[[], None],
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._recorder = recorder
        self._metrics = metrics
        self._lost_after = lost_after
        self._on_ready = on_ready
        self.links: dict[str, NodeLink] = {}
        ids = {limits.id for limits, _ in nodes}
        self._adopted = SHORTHAND_NODE if SHORTHAND_NODE not in ids else ""
        for limits, telephony in nodes:
            reconciler = Reconciler(
                store, telephony, capacity, recorder, RECONCILE_GRACE, limits.id,
                claims_unassigned=not self.links, adopted="" if self.links else self._adopted,
            )  # fmt: skip
            self.links[limits.id] = NodeLink(limits, telephony, reconciler)
        recorder.unassigned_node = self.first
        self.unsent: set[str] = set()  # picked, not yet written to its node (or undone)
        self._tasks: set[asyncio.Task[None]] = set()

    def __getitem__(self, node: str) -> NodeLink:
        return self.links[node]

    @property
    def first(self) -> str:
        return next(iter(self.links))

    def usable(self, carriers: Sequence[str]) -> list[str]:
        """Of the nodes that carry a number, those logged in and reconciled."""
        return [n for n in carriers if n in self.links and self.links[n].ready]

    @property
    def any_ready(self) -> bool:
        return any(link.ready for link in self.links.values())

    # -- lifecycle ----------------------------------------------------------------------

    async def hold_open_attempts(self) -> None:
        """At start-up: every attempt not ended counts against the caps at once, on its
        node; one on a node no longer configured cannot be followed: it is lost."""
        for attempt in await self._store.open_attempts():
            node = attempt.node or self.first
            if node == self._adopted:
                node = self.first
            if node in self.links:
                self._capacity.hold(attempt.id, attempt.campaign, node)
            else:
                log.warning("attempt on an unconfigured node settled lost",
                            attempt_id=attempt.id, node=node)  # fmt: skip
                reason = UNCONFIGURED.format(node=node)
                self._recorder.put(End(attempt.id, time.time(), lost=True, reason=reason))

    async def start(self) -> None:
        now = time.monotonic()
        for link in self.links.values():
            link.telephony.on_call_event(self._recorder.call_event)
            link.telephony.on_state_change(self._state_listener(link))
            link.down_since = now  # not logged in yet: what it held before counts from now
            link.lost_timer = self._spawn(self._lose_later(link, now))
            self._metrics.ami_connected.labels(link.id).set(0)
            self._metrics.calls_originated.labels(link.id)  # every node's series from the start
        for link in self.links.values():
            await link.telephony.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for link in self.links.values():
            await link.telephony.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- a node's connection ------------------------------------------------------------

    def _state_listener(self, link: NodeLink) -> Callable[[TelephonyState], None]:
        def changed(state: TelephonyState) -> None:
            self._metrics.ami_connected.labels(link.id).set(1 if state.logged_in else 0)
            if not state.logged_in:
                link.reconciler.ready = False
                link.logged_in = False
                if link.down_since is None:  # it was usable: the loss clock starts now
                    now = time.monotonic()
                    link.down_since = now
                    log.warning("asterisk node unreachable", node=link.id,
                                error=state.last_error)  # fmt: skip
                    link.lost_timer = self._spawn(self._lose_later(link, now))
                return
            if link.logged_in:  # logged in already: another change of its state
                return
            link.logged_in = True
            link.logins += 1
            link.reconciler.ready = False  # until this login's reconciliation has run
            self._spawn(self._reconcile(link, link.logins))

        return changed

    async def _reconcile(self, link: NodeLink, login: int) -> None:
        """Until it succeeds, while this login lasts: a reconciliation that ends after its
        connection dropped (or after a newer login began) does not make the node ready,
        the next login's does. Ready, the node's loss clock stops."""
        wait, longest = RECONCILE_RETRY
        while link.logins == login and link.telephony.state.logged_in:
            if await link.reconciler.reconcile():
                if link.logins != login or not link.telephony.state.logged_in:
                    return
                link.reconciler.ready = True
                link.down_since = None
                if link.lost_timer is not None:
                    link.lost_timer.cancel()
                    link.lost_timer = None
                self._on_ready()
                return
            log.warning("reconciliation to be tried again", node=link.id, seconds=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)

    async def _lose_later(self, link: NodeLink, since: float) -> None:
        """The node has been away since `since`: once `lost_after` has passed, its calls
        are settled lost: those written to it (one picked and not yet written is undone
        when its send finds the node gone). Being ready again before then cancels this."""
        await asyncio.sleep(max(0.0, since + self._lost_after - time.monotonic()))
        if link.down_since != since:  # it came back meanwhile (and may have gone again)
            return
        claims = link.reconciler
        open_ = await self._store.open_attempts(link.id, claims.claims, claims.adopted)
        if link.down_since != since:
            return
        campaigns = {a.id: a.campaign for a in open_}
        campaigns.update(self._capacity.held_campaigns(link.id))
        lost = sorted(set(campaigns) - self.unsent)
        reason = NODE_LOST.format(node=link.id, seconds=self._lost_after)
        for attempt_id in lost:
            link.telephony.forget(attempt_id)
            link.reconciler.written_off[attempt_id] = campaigns[attempt_id]
            self._recorder.put(End(attempt_id, time.time(), lost=True, reason=reason, node=link.id))
        if lost:
            log.warning("calls of an unreachable node settled lost", node=link.id,
                        calls=len(lost), seconds=self._lost_after)  # fmt: skip

    # -- what the outside sees ----------------------------------------------------------

    def states(self) -> dict[str, dict[str, object]]:
        """Each node's state, for /readyz."""
        now = time.monotonic()
        out: dict[str, dict[str, object]] = {}
        for node, link in self.links.items():
            state = link.telephony.state
            entry: dict[str, object] = {
                "state": link.state(),
                "calls_in_flight": self._capacity.node_in_flight(node),
                "max_concurrent_calls": link.limits.max_concurrent_calls,
            }
            if link.down_since is not None:
                entry["down_seconds"] = round(now - link.down_since, 1)
                entry["error"] = state.last_error or "connecting"
            out[node] = entry
        return out
