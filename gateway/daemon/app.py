"""Wires the daemon: store, service, event bus, HTTP routes, and (when configured) the
dialler and its AMI connection. The only module that knows every other one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import structlog
from aiohttp import web

from gateway.ami.telephony import AmiTelephony
from gateway.config import Config
from gateway.daemon import systemd
from gateway.daemon.metrics import Metrics
from gateway.dialer.dispatcher import Dispatcher
from gateway.domain.model import CampaignKey
from gateway.events import EventBus
from gateway.http import campaigns, dashboard, dnc, export, health, openapi, options, sse
from gateway.http.errors import errors_middleware
from gateway.http.keys import (
    BUS,
    CONFIG,
    LIVE_STATS,
    METRICS,
    NODE_STATES,
    READINESS,
    SERVICE,
    STORE,
    STREAMS,
    UPLOADS,
)
from gateway.http.middleware import api_key_auth, request_context
from gateway.http.streams import StreamHub
from gateway.http.uploadslots import UploadSlots
from gateway.parseworker import ParseWorker
from gateway.service import CampaignService
from gateway.store.dialing import DialStore
from gateway.store.renumber import renumber_stored_numbers
from gateway.store.sqlite import SqliteStore
from gateway.store.upgrade import backfill_contact_zones

log = structlog.get_logger(__name__)


def _no_live_stats(_: CampaignKey) -> dict[str, Any]:
    return {"calls_per_second": 0.0, "waiting_for_window": 0}


SHUTDOWN_STEP_SECONDS = 10.0


async def _bounded(closing: Coroutine[Any, Any, None], what: str) -> None:
    """A shutdown step may not hold the exit up for ever: SIGTERM must end the process."""
    try:
        await asyncio.wait_for(closing, SHUTDOWN_STEP_SECONDS)
    except TimeoutError:
        log.error("shutdown step timed out", step=what, seconds=SHUTDOWN_STEP_SECONDS)


UPGRADE_STEP_USEC = 60_000_000  # systemd's start timeout, from each batch of an upgrade


def upgrading(rows: int) -> None:
    """A batch of an upgrade is done: systemd waits another minute for READY (its start
    timeout, 90 s by default, would stop an upgrade of millions of rows and, five times
    over, leave the service failed)."""
    systemd.notify(f"EXTEND_TIMEOUT_USEC={UPGRADE_STEP_USEC}\nSTATUS=upgrading: {rows} rows read")


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = await SqliteStore.open(config.db_path)
    metrics = app[METRICS]
    store.db.write_observer = metrics.db_write_latency.observe
    discarded = await store.campaigns.discard_unfinished_imports()
    if discarded:
        log.warning("discarded uploads cut off by a restart", campaigns=discarded)
    await backfill_contact_zones(store.db)  # once, for campaigns from before zones
    # once, for numbers stored before they were read exactly as libphonenumber does
    await renumber_stored_numbers(
        store.db, config.default_country, allow_premium=config.allow_premium,
        progress=upgrading,
    )  # fmt: skip
    app[STORE] = store
    app[STREAMS] = StreamHub(app[BUS], store.campaigns, config.max_streams_per_tenant)
    app[UPLOADS] = UploadSlots(config.max_uploads_per_tenant)
    worker = ParseWorker()  # large uploads' CSV is parsed in it, beside the event loop
    app[SERVICE] = CampaignService(
        store.campaigns,
        app[BUS],
        config.choices(),
        config.default_country,
        allow_premium=config.allow_premium,
        parse_worker=worker,
    )
    log.info("database open", path=config.db_path)
    yield
    await _bounded(asyncio.to_thread(worker.close), "parse worker")
    await _bounded(store.close(), "database")


async def _dialer_ctx(app: web.Application) -> AsyncIterator[None]:
    """The AMI connection and the dispatcher. The API serves even while Asterisk is down:
    the connection retries in the background and /readyz says why it is not ready."""
    config = app[CONFIG]
    telephonies = {
        node.id: AmiTelephony.create(
            node.host,
            node.port,
            node.username,
            node.secret,
            ping_interval=config.ami_ping_interval,
            ping_timeout=config.ami_ping_timeout,
            no_channel_grace=0.5,
            node=node.id,
        )
        for node in config.nodes
    }
    dial_store = DialStore(app[STORE].db, allow_premium=config.allow_premium)
    dispatcher = Dispatcher(dial_store, telephonies, app[BUS], config, app[METRICS])
    app[SERVICE].on_status_change = dispatcher.campaign_changed
    app[LIVE_STATS] = dispatcher.live_stats
    app[READINESS] = dispatcher.readiness
    app[NODE_STATES] = dispatcher.node_states
    app[METRICS].live.sources.append(dispatcher.metric_families)
    await dispatcher.start()
    yield
    await _bounded(dispatcher.close(), "dispatcher")


async def _close_streams(app: web.Application) -> None:
    """on_shutdown: end every SSE stream cleanly before the server stops waiting."""
    if STREAMS in app:
        app[STREAMS].close_all()


def create_app(config: Config) -> web.Application:
    app = web.Application(
        middlewares=[request_context, errors_middleware, api_key_auth],
        client_max_size=1024**2,
    )
    app[CONFIG] = config
    app[BUS] = EventBus()
    app[METRICS] = Metrics()
    app[LIVE_STATS] = _no_live_stats
    app[READINESS] = lambda: {}
    app[NODE_STATES] = lambda: {}
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_dialer_ctx)
    systemd.setup(app)
    app.on_shutdown.append(_close_streams)
    app.add_routes(campaigns.routes)
    app.add_routes(sse.routes)
    app.add_routes(dnc.routes)
    app.add_routes(openapi.routes)
    app.add_routes(health.routes)
    app.add_routes(export.routes)
    app.add_routes(options.routes)
    dashboard.setup(app)  # GET / and its files; security headers on every response
    return app
