"""The dispatcher: dials the due contacts of running campaigns, never above any cap.

Caps (gateway.domain.capacity) count a call from before its Originate until its end is
recorded. Capacity is shared by taking one call per campaign per pass, the campaign served
longest ago first, so no running campaign starves another. Each call goes to the least
loaded usable node that carries the campaign's number (gateway.dialer.nodes: a node is
usable once logged in and reconciled). Call events of every node are recorded by the one
`CallRecorder`.

A pause or stop takes effect before the API answers it (`campaign_changed`): no Originate
is written after that, and a read of the running campaigns that started before it cannot
bring the campaign back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily

from gateway.config import Config
from gateway.daemon.metrics import Metrics
from gateway.dialer.calls import originate_request
from gateway.dialer.health import metric_families, readiness
from gateway.dialer.nodes import NodePool
from gateway.dialer.recorder import CallRecorder
from gateway.dialer.running import RunningCampaign
from gateway.dialer.windows import CallingWindows
from gateway.domain import lifecycle
from gateway.domain.calls import OriginateRefused, Telephony, TelephonyUnavailable
from gateway.domain.capacity import Capacity, NodeLimits
from gateway.domain.model import Campaign, CampaignKey, CampaignStatus
from gateway.domain.settings import parse_rfc3339
from gateway.events import EventBus
from gateway.store.database import StorageUnavailable
from gateway.store.dialing import DialStore, DialTarget, End, NotSent, Pick

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 1.0  # re-read running campaigns, scheduled starts, caps
IDLE_WAIT = 0.2  # longest sleep between rounds when nothing wakes the dispatcher
FAILED_ROUND_WAIT = 1.0
RATE_WINDOW = 10.0  # seconds of Originates that live_stats' calls_per_second averages


class Dispatcher:
    def __init__(
        self,
        store: DialStore,
        telephonies: Mapping[str, Telephony],
        bus: EventBus,
        config: Config,
        metrics: Metrics,
    ) -> None:
        """`telephonies`: one per configured node (`config.nodes`), by node id."""
        self._store = store
        self._bus = bus
        self._config = config
        self._metrics = metrics
        limits = [
            NodeLimits(n.id, n.max_concurrent_calls, n.max_calls_per_second, n.weight)
            for n in config.nodes
        ]
        self._capacity = Capacity(limits, time.monotonic())
        self._wake = asyncio.Event()
        self._recorder = CallRecorder(store, self._capacity, bus, metrics, self._wake.set)
        self._nodes = NodePool(
            [(limit, telephonies[limit.id]) for limit in limits], store, self._capacity,
            self._recorder, metrics, config.node_lost_after_seconds, self._wake.set,
        )  # fmt: skip
        # The nodes that carry each phone number's trunk (a number not configured: all of
        # them, and its Originate cannot be built: the attempt fails as not dialable).
        self._carriers = {n.id: config.nodes_for(n.id) for n in config.phone_numbers}
        self._everywhere = tuple(limit.id for limit in limits)
        self._windows = CallingWindows(config.calling_window)
        self._running: dict[CampaignKey, RunningCampaign] = {}
        self._halted: dict[CampaignKey, int] = {}  # paused/stopped by the API, at epoch
        self._epoch = 0  # counts campaign_changed calls
        self._recent: dict[CampaignKey, deque[float]] = {}  # originate times, for calls/s
        self._tasks: list[asyncio.Task[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._checks: set[asyncio.Task[None]] = set()  # unconfirmed Originates, judged later
        self._next_refresh = 0.0
        self._next_token = IDLE_WAIT  # seconds until a paced campaign may dial again
        self._closing = False
        self._storage_warned = False

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self._nodes.hold_open_attempts()  # counted against caps at once
        self._tasks = [
            asyncio.create_task(self._dial_loop(), name="dispatcher-dial"),
            asyncio.create_task(self._recorder.run(), name="dispatcher-events"),
        ]
        await self._nodes.start()

    async def close(self, grace: float = 5.0) -> None:
        """Stop dialling; let the events already received be recorded, within `grace`."""
        self._closing = True
        self._wake.set()
        if not self._tasks:
            return
        # Not cancelled mid-round: attempts it is committing would be left begun and never
        # sent (lost after the restart). It ends after its round; its sends see _closing.
        done, _ = await asyncio.wait({self._tasks[0]}, timeout=grace)
        if not done:
            self._tasks[0].cancel()
        if self._sends:
            await asyncio.wait(self._sends, timeout=grace)
        deadline = time.monotonic() + grace
        while not self._recorder.idle and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the recorder task is writing what it has
        for task in (*self._tasks, *self._checks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._checks, return_exceptions=True)
        await self._nodes.close()

    def campaign_changed(self, campaign: Campaign) -> None:
        """The API changed a campaign's status, and calls this before it answers: a pause
        or stop takes effect here, at once."""
        self._epoch += 1
        if campaign.status is CampaignStatus.RUNNING:
            self._halted.pop(campaign.key, None)
        else:
            self._running.pop(campaign.key, None)
            self._halted[campaign.key] = self._epoch
            if campaign.status.terminal:
                self._forget(campaign.key)
        self._next_refresh = 0.0
        self._wake.set()

    def live_stats(self, key: CampaignKey) -> dict[str, Any]:
        recent = self._recent.get(key)
        cutoff = time.monotonic() - RATE_WINDOW
        while recent and recent[0] < cutoff:  # each time is dropped once: O(1) amortised
            recent.popleft()
        per_second = len(recent) / RATE_WINDOW if recent else 0.0
        return {
            "calls_in_flight": self._capacity.in_flight(key),
            "calls_by_node": self._calls_by_node(key),
            "calls_per_second": per_second,
            "waiting_for_window": self._windows.waiting(key),
        }

    def _calls_by_node(self, key: CampaignKey) -> dict[str, int]:
        """The campaign's calls in flight on each node that carries its number (a tenant
        sees no other node)."""
        run = self._running.get(key)
        carriers = (
            self._everywhere
            if run is None
            else self._carriers.get(run.campaign.phone_number_id, self._everywhere)
        )
        counts = self._capacity.by_node(key)
        return {node: counts[node] for node in carriers if node in counts}

    def metric_families(self) -> list[GaugeMetricFamily]:
        """Read at scrape time: calls in flight, cap saturation, AMI reconnects."""
        tenants = {r.tenant.id: r.tenant for r in self._running.values()}
        return metric_families(self._capacity, list(tenants.values()), self._nodes)

    def readiness(self) -> dict[str, str]:
        return readiness(self._nodes, self._recorder.storage_problem)

    def node_states(self) -> dict[str, dict[str, object]]:
        return self._nodes.states()

    # -- dialling -----------------------------------------------------------------------

    async def _dial_loop(self) -> None:
        # Checked as well as cancelled: on Python 3.11, asyncio.wait_for returns normally
        # when its awaitable completes as the task is cancelled, swallowing the cancel
        # (a wake-up just before close() did it: close() then waited for ever).
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._next_token)
            self._wake.clear()
            if self._closing:
                break
            try:
                if time.monotonic() >= self._next_refresh:
                    await self._refresh()
                if self._nodes.any_ready:
                    await self._dial_round()
                self._storage_warned = False
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:  # nothing is dialled that could not be recorded
                if not self._storage_warned:
                    log.warning("dialling waits for the storage", error=str(exc))
                    self._storage_warned = True
                await asyncio.sleep(FAILED_ROUND_WAIT)
            except Exception:
                log.exception("dial round failed")
                await asyncio.sleep(FAILED_ROUND_WAIT)

    async def _refresh(self) -> None:
        self._next_refresh = time.monotonic() + REFRESH_SECONDS
        now = datetime.now(UTC)
        for pk in await self._store.due_scheduled(now):
            begun = await self._store.transition(
                pk, lambda c: lifecycle.begin_scheduled(
                    c.status, parse_rfc3339(c.scheduled_at) if c.scheduled_at else None, now
                ),
            )  # fmt: skip
            if begun is not None:
                log.info("scheduled campaign begins", campaign_id=begun.id)
                self._bus.publish(begun.key)
        epoch = self._epoch
        found = await self._store.running()
        fresh = {}
        for campaign, tenant in found:
            key = campaign.key
            if key in self._halted:  # paused or stopped after this read began
                continue
            run = self._running.get(key) or RunningCampaign(campaign, tenant)
            run.campaign, run.tenant = campaign, tenant
            await run.defer_closed(self._store, self._windows, now)
            fresh[key] = run
            if campaign.counts.pending == 0 and self._capacity.in_flight(key) == 0:
                await self._finish_if_done(campaign)
        # A pause may have landed while this loop awaited: never bring a halted one back.
        self._running = {key: run for key, run in fresh.items() if key not in self._halted}
        # A halt this read already saw through (it began after it) needs no more guarding.
        self._halted = {key: at for key, at in self._halted.items() if at > epoch}

    async def _finish_if_done(self, campaign: Campaign) -> None:
        done = await self._store.transition(
            campaign.pk,
            lambda c: lifecycle.complete_if_done(c.status, c.counts.pending, c.counts.in_flight),
        )
        if done is not None:
            self._forget(campaign.key)
            self._bus.publish(campaign.key)

    def _forget(self, key: CampaignKey) -> None:
        """The campaign will not dial again: drop what was kept for it."""
        self._capacity.forget(key)
        self._recent.pop(key, None)
        self._windows.forget(key)

    async def _dial_round(self) -> None:
        """Pass over the running campaigns taking one call each while any has room."""
        chosen: dict[CampaignKey, list[Pick]] = {}
        now = datetime.now(UTC)
        # The one served longest ago goes first: a campaign held back by its own pace
        # takes the shared token whenever it has one of its own (max-min fair), instead
        # of winning a coin toss against a faster one.
        runs = sorted(self._running.values(), key=lambda run: run.served_at)
        self._next_token = IDLE_WAIT
        clock = time.monotonic()
        active = True
        while active:
            active = False
            for run in runs:
                usable = self._nodes.usable(
                    self._carriers.get(run.campaign.phone_number_id, self._everywhere)
                )
                if not self._has_room(run, clock, usable):
                    continue
                target = await run.next_target(self._store, self._windows)
                if target is None:
                    continue
                node = self._capacity.choose(usable, clock)
                if node is None:  # the node with a token filled up meanwhile: next round
                    run.queue.appendleft(target)
                    continue
                attempt_id = f"{run.campaign.id[:8]}-{target.contact_id}-{target.attempt_number}"
                detail = self._windows.dialled_detail(
                    run.campaign, target.zone_set, target.attempt_number, now
                )
                self._capacity.take(run.campaign, run.tenant, node, clock)
                self._capacity.hold(attempt_id, run.campaign.key, node)
                self._nodes.unsent.add(attempt_id)
                run.served_at = clock
                pick = Pick(target, attempt_id, detail, node, self._nodes[node].logins)
                chosen.setdefault(run.campaign.key, []).append(pick)
                active = True
        by_key = {run.campaign.key: run for run in runs}
        for key, picks in chosen.items():
            await self._begin(by_key[key], picks)

    def _has_room(self, run: RunningCampaign, now: float, usable: list[str]) -> bool:
        wait = self._capacity.wait(run.campaign, run.tenant, now, usable)
        if wait is None:
            return False
        if wait > 0:  # paced: look again exactly when the slowest bucket has a token
            self._next_token = min(self._next_token, wait)
            return False
        return True

    async def _begin(self, run: RunningCampaign, picks: list[Pick]) -> None:
        """Commit the attempts, then send their Originates (each its own task)."""
        began: list[bool] = [False] * len(picks)
        try:
            if run.campaign.key in self._running and not self._closing:
                began = await self._store.begin_attempts(run.campaign, picks, time.time())
        finally:
            for pick, ok in zip(picks, began, strict=True):
                if not ok:  # nothing was dialled for it: its place is free again
                    self._capacity.release(pick.attempt_id)
                    self._nodes.unsent.discard(pick.attempt_id)
        self._bus.publish(run.campaign.key)  # begun, or refused as do-not-call
        for pick, ok in zip(picks, began, strict=True):
            if ok and pick.node is not None:
                send = self._send_once(run, pick)
                self._track(asyncio.create_task(send), self._sends)

    @staticmethod
    def _track(task: asyncio.Task[None], tasks: set[asyncio.Task[None]]) -> None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _send_once(self, run: RunningCampaign, pick: Pick) -> None:
        assert pick.node is not None
        try:
            await self._send(run, pick.target, pick.attempt_id, pick.node, pick.login)
        finally:
            self._nodes.unsent.discard(pick.attempt_id)

    async def _send(
        self, run: RunningCampaign, target: DialTarget, attempt_id: str, node: str, login: int
    ) -> None:
        """Send one committed attempt's Originate to its node. Whatever happens, the
        attempt is settled or followed: never left holding its place."""
        key, link = run.campaign.key, self._nodes[node]
        now = time.monotonic()
        delay = self._capacity.write_at(run.campaign, run.tenant, node, now) - now
        if delay > 0:  # paced on the wire too, not only when its token was taken
            await asyncio.sleep(delay)
        wait = self._capacity.wire_wait(run.campaign, run.tenant, node, time.monotonic())
        while wait > 0:
            await asyncio.sleep(wait)  # one before it went out late: keep the gap
            wait = self._capacity.wire_wait(run.campaign, run.tenant, node, time.monotonic())
        if key not in self._running or self._closing:  # paused or stopped meanwhile
            self._recorder.put(NotSent(attempt_id, time.time(), "campaign no longer running"))
            return
        if not link.reconciler.ready or link.logins != login:  # reconnected meanwhile
            reason = f"reconnecting to Asterisk node {node}"
            self._recorder.put(NotSent(attempt_id, time.time(), reason))
            return
        # The window again, at the wire: the transaction before may have waited for the
        # database, and the pacing above slept. A cached state: no await until the write.
        if not self._windows.state(run.campaign, target.zone_set, datetime.now(UTC)).open:
            self._recorder.put(NotSent(attempt_id, time.time(), "its calling window closed"))
            return
        self._capacity.wrote(run.campaign, run.tenant, node, time.monotonic())
        self._nodes.unsent.discard(attempt_id)  # on the wire from here: a lost node loses it
        try:
            # Nothing awaits between the checks above and the write inside originate().
            await link.telephony.originate(
                originate_request(self._config, run.campaign, target, attempt_id)
            )
        except TelephonyUnavailable as exc:
            if exc.maybe_sent:  # never sent again: followed, or judged by the reconciler
                _log_for(run, target, attempt_id, node).warning(
                    "originate unconfirmed", reason=str(exc)
                )
                check = link.reconciler.check_unconfirmed(
                    attempt_id, run.campaign.ring_timeout_seconds
                )
                self._track(asyncio.create_task(check), self._checks)
            else:
                self._recorder.put(NotSent(attempt_id, time.time(), str(exc)))
            return
        except OriginateRefused as exc:  # a failed attempt like any other: maybe retried
            _log_for(run, target, attempt_id, node).warning("originate refused", reason=str(exc))
            self._recorder.put(End(attempt_id, time.time(), reason=f"refused: {exc}"[:300]))
            return
        except Exception as exc:  # it could not be built or sent: it would fail again
            reason = f"not dialable: {type(exc).__name__}: {exc}"[:300]
            _log_for(run, target, attempt_id, node).warning("originate impossible", reason=reason)
            self._recorder.put(End(attempt_id, time.time(), undialable=True, reason=reason))
            return
        self._metrics.calls_originated.labels(node).inc()
        self._recent.setdefault(key, deque(maxlen=4096)).append(time.monotonic())


def _log_for(run: RunningCampaign, target: DialTarget, attempt_id: str, node: str) -> Any:
    """A logger bound to the call's ids, built only when there is something to log (the
    successful path of every call stays free of it)."""
    return log.bind(
        campaign_id=run.campaign.id,
        contact_id=target.contact_id,
        attempt_id=attempt_id,
        node=node,
    )
