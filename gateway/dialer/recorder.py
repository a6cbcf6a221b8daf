"""Recording call events: every AMI outcome lands in the store, in order, exactly once.

Events are turned into store changes as they arrive (so a change carries the time it
happened, not the time it was written) and applied in batches. A batch the storage cannot
take (disk full, I/O error) is kept and tried again with backoff until it goes through:
nothing is dropped, and the calls it ends keep their places against the caps until then.
A change that cannot be applied for any other reason is set apart and logged with its ids;
the rest of its batch is applied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from gateway.daemon.metrics import Metrics
from gateway.domain.amd import answered_by
from gateway.domain.calls import AmdVerdict, CallAnswered, CallEvent, OptedOut
from gateway.domain.capacity import Capacity
from gateway.events import EventBus
from gateway.store.database import StorageUnavailable
from gateway.store.dialing import Amd, Answer, Applied, Change, DialStore, End, NotSent, OptOut

log = structlog.get_logger(__name__)

BATCH = 500
RETRY_FIRST = 0.05  # seconds before the first retry of a batch the storage refused
RETRY_MAX = 2.0
UNASSIGNED = "unassigned"  # the node label of an attempt stored before nodes existed


class CallRecorder:
    def __init__(
        self,
        store: DialStore,
        capacity: Capacity,
        bus: EventBus,
        metrics: Metrics,
        on_release: Callable[[], None],
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._bus = bus
        self._metrics = metrics
        self._on_release = on_release
        self._queue: asyncio.Queue[Change] = asyncio.Queue()
        self._busy = False  # a batch is being written (or waits to be written again)
        self.storage_problem = ""  # why the last batch could not be written, until one is
        self.unassigned_node = UNASSIGNED  # the node of attempts stored before nodes existed

    def call_event(self, event: CallEvent) -> None:
        """From the telephony port, in the event loop: never blocks."""
        now = time.time()
        if isinstance(event, CallAnswered):
            self._metrics.calls_answered.inc()
            self._queue.put_nowait(Answer(event.attempt_id, now))
        elif isinstance(event, OptedOut):
            self._queue.put_nowait(OptOut(event.attempt_id, now))
        elif isinstance(event, AmdVerdict):  # counted in _done, once the attempt takes it
            result = answered_by(event.status)
            self._queue.put_nowait(Amd(event.attempt_id, now, result, event.cause, event.seconds))
        else:
            self._queue.put_nowait(End(event.attempt_id, now, call=event))
        self._metrics.ami_events.inc()

    def put(self, change: Change) -> None:
        self._queue.put_nowait(change)

    @property
    def idle(self) -> bool:
        """Everything received so far has been written."""
        return self._queue.empty() and not self._busy

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < BATCH:
                batch.append(self._queue.get_nowait())
            self._busy = True
            try:
                self._done(await self._record(batch))
            finally:
                self._busy = False

    async def _record(self, changes: list[Change]) -> Applied:
        delay = RETRY_FIRST
        while True:
            try:
                applied = await self._store.apply(changes)
            except StorageUnavailable as exc:
                if not self.storage_problem:
                    log.warning("call events wait for the storage", error=str(exc),
                                events=len(changes))  # fmt: skip
                self.storage_problem = str(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            except Exception as exc:  # outside any one change: try them one by one
                if len(changes) == 1:  # it cannot be written at all: logged, not lost
                    change = changes[0]
                    ended = [change.attempt_id] if isinstance(change, End | NotSent) else []
                    return Applied(
                        ended=ended, set_apart=[(change, f"{type(exc).__name__}: {exc}")]
                    )
                log.exception("recording a batch of call events failed; one by one now")
                applied = Applied()
                for change in changes:
                    one = await self._record([change])
                    applied.ended += one.ended
                    applied.campaigns |= one.campaigns
                    applied.outcomes += one.outcomes
                    applied.amd += one.amd
                    applied.set_apart += one.set_apart
                return applied
            if self.storage_problem:
                log.info("call events are written again", events=len(changes))
                self.storage_problem = ""
            return applied

    def _done(self, applied: Applied) -> None:
        for change, error in applied.set_apart:
            log.error("call event set apart: it cannot be applied", attempt_id=change.attempt_id,
                      change=type(change).__name__, error=error)  # fmt: skip
        for outcome, node in applied.outcomes:
            if outcome != "answered":
                self._metrics.calls_failed.labels(outcome, node or self.unassigned_node).inc()
        for result, seconds in applied.amd:  # once per attempt: a replayed verdict is not here
            self._metrics.amd_results.labels(result).inc()
            if seconds is not None:
                self._metrics.amd_verdict_seconds.observe(seconds)
        released = False
        for attempt_id in applied.ended:
            released = self._capacity.release(attempt_id) or released
        if released:
            self._on_release()
        for key in applied.campaigns:
            self._bus.publish(key)
