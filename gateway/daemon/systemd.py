"""sd_notify(3) without libsystemd: readiness, stopping, and a watchdog fed from the loop.

Under `Type=notify` systemd passes $NOTIFY_SOCKET (a path, or an abstract name written with a
leading '@'); with `WatchdogSec=` it also passes $WATCHDOG_USEC (and $WATCHDOG_PID). Outside
systemd every function here does nothing.

Wiring (gateway/daemon/app.py and gateway/daemon/serve.py):

    systemd.setup(app)                          # watchdog task, STOPPING=1 on shutdown
    web.run_app(app, ..., print=systemd.ready)  # READY=1 once the sockets listen

READY=1 goes out from run_app's `print` hook because aiohttp calls it right after every site
has started listening, whereas on_startup and cleanup_ctx run before that: a unit ordered
After= this one must find the port open. The watchdog pings from a task on the daemon's
event loop, so a loop that hangs stops the pings and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Mapping

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)


def _address(environ: Mapping[str, str]) -> str | None:
    path = environ.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):
        return "\0" + path[1:]  # Linux abstract namespace
    if path.startswith("/"):
        return path
    return None  # unset, or a kind we do not speak (e.g. vsock:)


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1", "STATUS=...\\nWATCHDOG=1") to systemd. True if sent;
    False when not under systemd or when the send failed (logged, never raised)."""
    address = _address(os.environ if environ is None else environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("sd_notify failed", state=state.split("=")[0], error=str(exc))
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings (half of $WATCHDOG_USEC), or None when no watchdog is asked
    for this process ($WATCHDOG_PID, when set, must be our pid)."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2 / 1_000_000


async def watchdog(interval: float) -> None:
    """Ping now and every `interval` seconds, for as long as the event loop runs us."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


async def systemd_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the watchdog task for the app's life."""
    interval = watchdog_interval()
    task = None
    if interval is not None:
        task = asyncio.create_task(watchdog(interval), name="sd-watchdog")
        log.info("systemd watchdog on", interval_seconds=interval)
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def stopping(app: web.Application) -> None:
    """on_shutdown: tell systemd the stop has begun."""
    notify("STOPPING=1\nSTATUS=stopping")


def ready(*_banner: object) -> None:
    """READY=1. Pass as `web.run_app(..., print=ready)`: called once the sites listen."""
    if notify("READY=1\nSTATUS=serving"):
        log.info("told systemd we are ready")


def setup(app: web.Application) -> None:
    """Wire the watchdog and STOPPING=1 into `app` (READY=1 is `ready`, see above)."""
    app.cleanup_ctx.append(systemd_ctx)
    app.on_shutdown.insert(0, stopping)
