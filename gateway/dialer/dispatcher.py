"""The dispatcher: dials the due contacts of running campaigns, never above any cap, and
turns call events into contact transitions.

Caps, all enforced here and counted from the Originate until the call has ended: the
campaign's and the tenant's maximum concurrent calls and calls per second, and the
host's (the Asterisk node's) own ceiling. Capacity is shared by taking one call per
campaign per pass, round robin, so no running campaign starves another.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from gateway.config import Config
from gateway.dialer.calls import originate_request
from gateway.domain import lifecycle
from gateway.domain.calls import (
    CallAnswered,
    CallEvent,
    OriginateRefused,
    Telephony,
    TelephonyState,
    TelephonyUnavailable,
)
from gateway.domain.model import Campaign, CampaignStatus, Tenant
from gateway.domain.pacing import TokenBucket, window_open
from gateway.domain.settings import parse_rfc3339
from gateway.events import EventBus
from gateway.metrics import Metrics
from gateway.store.dialing import Answer, DialStore, DialTarget, End

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 1.0  # re-read running campaigns, scheduled starts, caps
PREFETCH = 100  # due contacts read ahead per campaign
EVENT_BATCH = 500
RECONCILE_GRACE = 1.0  # let events already on the wire arrive before judging
IDLE_WAIT = 0.2  # longest sleep between rounds when nothing wakes the dispatcher


@dataclass
class _Running:
    campaign: Campaign
    tenant: Tenant
    queue: deque[DialTarget] = field(default_factory=deque)
    exhausted_until: float = 0.0  # nothing due before then (retries wait)


class Dispatcher:
    def __init__(
        self,
        store: DialStore,
        telephony: Telephony,
        bus: EventBus,
        config: Config,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._telephony = telephony
        self._bus = bus
        self._config = config
        self._metrics = metrics
        self._running: dict[int, _Running] = {}
        self._inflight: dict[str, tuple[int, int]] = {}  # attempt → (campaign, tenant)
        self._by_campaign: Counter[int] = Counter()
        self._by_tenant: Counter[int] = Counter()
        self._campaign_buckets: dict[int, TokenBucket] = {}
        self._tenant_buckets: dict[int, TokenBucket] = {}
        self._host_bucket = TokenBucket(config.host_max_calls_per_second, now=time.monotonic())
        self._recent: dict[int, deque[float]] = {}  # originate times, for calls/s
        self._events: asyncio.Queue[CallEvent | End] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._ready = False  # reconciled since the last login
        self._tasks: list[asyncio.Task[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._next_refresh = 0.0
        self._next_token = IDLE_WAIT  # seconds until a paced campaign may dial again
        self._turn = 0  # rotates which campaign a round serves first
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        for attempt in await self._store.open_attempts():  # counted against caps at once
            self._hold(attempt.id, attempt.campaign_pk, attempt.tenant_id)
        self._telephony.on_call_event(self._events.put_nowait)
        self._telephony.on_state_change(self._on_state)
        self._tasks = [
            asyncio.create_task(self._dial_loop(), name="dispatcher-dial"),
            asyncio.create_task(self._event_loop(), name="dispatcher-events"),
        ]
        await self._telephony.start()

    async def close(self, grace: float = 5.0) -> None:
        """Stop dialling; let the events already received be recorded, within `grace`."""
        self._closing = True
        if not self._tasks:
            return
        self._tasks[0].cancel()
        if self._sends:
            await asyncio.wait(self._sends, timeout=grace)
        deadline = time.monotonic() + grace
        while not self._events.empty() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the event loop task is draining the queue
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._telephony.close()

    def campaign_changed(self, campaign: Campaign) -> None:
        """The API changed a campaign's status: a pause takes effect before it answers."""
        if campaign.status is not CampaignStatus.RUNNING:
            self._running.pop(campaign.pk, None)
        self._next_refresh = 0.0
        self._wake.set()

    def live_stats(self, campaign_pk: int) -> dict[str, Any]:
        recent = self._recent.get(campaign_pk, ())
        cutoff = time.monotonic() - 10.0
        per_second = sum(1 for t in recent if t >= cutoff) / 10.0
        return {"calls_in_flight": self._by_campaign[campaign_pk], "calls_per_second": per_second}

    def metric_families(self) -> list[GaugeMetricFamily]:
        """Read at scrape time: calls in flight, cap saturation, AMI reconnects."""
        in_flight = GaugeMetricFamily("gateway_calls_in_flight", "Calls from Originate to end")
        in_flight.add_metric([], len(self._inflight))
        saturation = GaugeMetricFamily(
            "gateway_tenant_cap_saturation",
            "Calls in flight over the tenant's concurrent-call maximum (1 = at the cap)",
            labels=["tenant"],
        )
        for run in {r.tenant.id: r for r in self._running.values()}.values():
            used = self._by_tenant[run.tenant.id] / run.tenant.max_concurrent_calls
            saturation.add_metric([run.tenant.name], used)
        host = GaugeMetricFamily(
            "gateway_host_cap_saturation", "Calls in flight over the host ceiling"
        )
        host.add_metric([], len(self._inflight) / self._config.host_max_concurrent_calls)
        reconnects = CounterMetricFamily(
            "gateway_ami_reconnects", "AMI connection attempts after the first"
        )
        reconnects.add_metric([], self._telephony.state.reconnects)
        return [in_flight, saturation, host, reconnects]

    def readiness(self) -> dict[str, str]:
        state = self._telephony.state
        if not state.logged_in:
            return {"ami": f"not logged in to AMI: {state.last_error or 'connecting'}"}
        if not self._ready:
            return {"ami": "logged in, reconciling calls in flight with Asterisk"}
        return {"ami": ""}

    # -- caps ---------------------------------------------------------------------------

    def _hold(self, attempt_id: str, campaign_pk: int, tenant_id: int) -> None:
        if attempt_id in self._inflight:  # already counted (e.g. reconciling after a drop)
            return
        self._inflight[attempt_id] = (campaign_pk, tenant_id)
        self._by_campaign[campaign_pk] += 1
        self._by_tenant[tenant_id] += 1

    def _release(self, attempt_id: str) -> None:
        held = self._inflight.pop(attempt_id, None)
        if held is not None:
            self._by_campaign[held[0]] -= 1
            self._by_tenant[held[1]] -= 1
            self._wake.set()

    def _room(self, run: _Running, now: float) -> bool:
        campaign, tenant = run.campaign, run.tenant
        if self._by_campaign[campaign.pk] >= campaign.max_concurrent_calls:
            return False
        if self._by_tenant[tenant.id] >= tenant.max_concurrent_calls:
            return False
        if len(self._inflight) >= self._config.host_max_concurrent_calls:
            return False
        buckets = [self._host_bucket, self._tenant_bucket(tenant, now)]
        if campaign.max_calls_per_second is not None:
            buckets.append(self._campaign_bucket(campaign, now))
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:  # paced: look again exactly when the slowest bucket has a token
            self._next_token = min(self._next_token, wait)
            return False
        return True

    def _take(self, run: _Running, now: float) -> None:
        self._host_bucket.take(now)
        self._tenant_bucket(run.tenant, now).take(now)
        if run.campaign.max_calls_per_second is not None:
            self._campaign_bucket(run.campaign, now).take(now)

    def _tenant_bucket(self, tenant: Tenant, now: float) -> TokenBucket:
        bucket = self._tenant_buckets.get(tenant.id)
        if bucket is None:
            bucket = TokenBucket(tenant.max_calls_per_second, now=now)
            self._tenant_buckets[tenant.id] = bucket
        bucket.set_rate(tenant.max_calls_per_second)
        return bucket

    def _campaign_bucket(self, campaign: Campaign, now: float) -> TokenBucket:
        rate = campaign.max_calls_per_second or 1.0
        bucket = self._campaign_buckets.get(campaign.pk)
        if bucket is None:
            bucket = self._campaign_buckets[campaign.pk] = TokenBucket(rate, now=now)
        return bucket

    # -- dialling -----------------------------------------------------------------------

    async def _dial_loop(self) -> None:
        # Checked as well as cancelled: on Python 3.11, asyncio.wait_for returns normally
        # when its awaitable completes as the task is cancelled, swallowing the cancel
        # (a wake-up just before close() did it: close() then waited for ever).
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._next_token)
            self._wake.clear()
            try:
                if time.monotonic() >= self._next_refresh:
                    await self._refresh()
                if self._ready and self._telephony.state.logged_in:
                    await self._dial_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dial round failed")
                await asyncio.sleep(1.0)

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
        fresh = {}
        for campaign, tenant in await self._store.running():
            run = self._running.get(campaign.pk)
            if run is None:
                run = _Running(campaign, tenant)
            run.campaign, run.tenant = campaign, tenant
            if not window_open(now, campaign.timezone, campaign.window_start, campaign.window_end):
                continue
            fresh[campaign.pk] = run
            if campaign.counts.pending == 0 and self._by_campaign[campaign.pk] == 0:
                await self._finish_if_done(campaign)
        self._running = fresh

    async def _finish_if_done(self, campaign: Campaign) -> None:
        done = await self._store.transition(
            campaign.pk,
            lambda c: lifecycle.complete_if_done(c.status, c.counts.pending, c.counts.in_flight),
        )
        if done is not None:
            self._bus.publish(campaign.key)

    async def _dial_round(self) -> None:
        """Pass over the running campaigns taking one call each while any has room."""
        chosen: dict[int, list[tuple[DialTarget, str]]] = {}
        runs = list(self._running.values())
        if runs:  # whoever was served first last round is served last now: fair pacing
            self._turn %= len(runs)
            runs = runs[self._turn :] + runs[: self._turn]
            self._turn += 1
        self._next_token = IDLE_WAIT
        clock = time.monotonic()
        active = True
        while active:
            active = False
            for run in runs:
                if not self._room(run, clock):
                    continue
                target = await self._next_target(run)
                if target is None:
                    continue
                attempt_id = f"{run.campaign.id[:8]}-{target.contact_id}-{target.attempt_number}"
                self._take(run, clock)
                self._hold(attempt_id, run.campaign.pk, run.tenant.id)
                chosen.setdefault(run.campaign.pk, []).append((target, attempt_id))
                active = True
        for pk, picks in chosen.items():
            run = self._running.get(pk) or next(r for r in runs if r.campaign.pk == pk)
            try:
                began = await self._store.begin_attempts(run.campaign, picks, time.time())
            except Exception:
                for _, attempt_id in picks:  # nothing was written: free the slots
                    self._release(attempt_id)
                raise
            self._bus.publish(run.campaign.key)
            for (target, attempt_id), ok in zip(picks, began, strict=True):
                if not ok:
                    self._release(attempt_id)
                    continue
                task = asyncio.create_task(self._send(run, target, attempt_id))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)

    async def _next_target(self, run: _Running) -> DialTarget | None:
        if not run.queue:
            now = time.time()
            if now < run.exhausted_until:
                return None
            due = await self._store.due_contacts(run.campaign.pk, now, PREFETCH)
            if not due:
                run.exhausted_until = now + REFRESH_SECONDS
                return None
            run.queue.extend(due)
        return run.queue.popleft()

    async def _send(self, run: _Running, target: DialTarget, attempt_id: str) -> None:
        if run.campaign.pk not in self._running or self._closing:  # paused meanwhile
            await self._unsend(attempt_id, "campaign no longer running")
            return
        request = originate_request(self._config, run.campaign, target, attempt_id)
        try:
            await self._telephony.originate(request)
        except OriginateRefused as exc:
            _log_for(run, target, attempt_id).warning("originate refused", reason=str(exc))
            self._events.put_nowait(End(attempt_id, time.time(), reason=f"refused: {exc}"))
            return
        except TelephonyUnavailable as exc:
            if exc.maybe_sent:  # settled by reconciliation, never sent again
                _log_for(run, target, attempt_id).warning("originate unconfirmed", reason=str(exc))
            else:
                await self._unsend(attempt_id, str(exc))
            return
        self._metrics.calls_originated.inc()
        self._recent.setdefault(run.campaign.pk, deque(maxlen=4096)).append(time.monotonic())

    async def _unsend(self, attempt_id: str, why: str) -> None:
        key = await self._store.not_sent(attempt_id, why, time.time())
        self._release(attempt_id)
        if key is not None:
            self._bus.publish(key)

    # -- call events --------------------------------------------------------------------

    async def _event_loop(self) -> None:
        while True:
            batch = [await self._events.get()]
            while not self._events.empty() and len(batch) < EVENT_BATCH:
                batch.append(self._events.get_nowait())
            now = time.time()
            changes: list[Answer | End] = []
            for event in batch:
                if isinstance(event, End):
                    changes.append(event)
                elif isinstance(event, CallAnswered):
                    changes.append(Answer(event.attempt_id, now))
                    self._metrics.calls_answered.inc()
                else:
                    changes.append(End(event.attempt_id, now, call=event))
            try:
                applied = await self._store.apply(changes)
            except Exception:
                log.exception("recording call events failed", events=len(changes))
                continue
            self._metrics.ami_events.inc(len(batch))
            for outcome in applied.outcomes:
                if outcome != "answered":
                    self._metrics.calls_failed.labels(outcome).inc()
            for attempt_id in applied.ended:
                self._release(attempt_id)
            for key in applied.campaigns:
                self._bus.publish(key)

    # -- connection and reconciliation --------------------------------------------------

    def _on_state(self, state: TelephonyState) -> None:
        self._metrics.ami_connected.set(1 if state.logged_in else 0)
        if not state.logged_in:
            self._ready = False
            return
        asyncio.get_running_loop().create_task(self._reconcile())

    async def _reconcile(self) -> None:
        """After (re)login: calls alive in Asterisk are followed again; attempts whose
        channel is gone ended while we could not hear: settle them, never re-dial."""
        if await self._store.open_attempts():  # nothing in flight: no grace to wait out
            await asyncio.sleep(RECONCILE_GRACE)
        try:
            live = await self._telephony.live_attempts()
        except Exception as exc:  # the connection dropped again: the next login retries
            log.warning("reconciliation failed", error=str(exc))
            return
        tracked = self._telephony.tracked()
        attached = lost = 0
        for attempt in await self._store.open_attempts():
            self._hold(attempt.id, attempt.campaign_pk, attempt.tenant_id)
            if attempt.id in live:
                if attempt.id not in tracked:
                    self._telephony.track(attempt.id, answered=attempt.status == "connected")
                attached += 1
            else:
                self._telephony.forget(attempt.id)
                gone = "the call ended while the gateway could not hear Asterisk"
                self._events.put_nowait(End(attempt.id, time.time(), lost=True, reason=gone))
                lost += 1
        log.info("reconciled with Asterisk", live=attached, lost=lost)
        self._ready = True
        self._wake.set()


def _log_for(run: _Running, target: DialTarget, attempt_id: str) -> Any:
    """A logger bound to the call's ids, built only when there is something to log (the
    successful path of every call stays free of it)."""
    return log.bind(
        campaign_id=run.campaign.id, contact_id=target.contact_id, attempt_id=attempt_id
    )
