"""Liveness, readiness and Prometheus metrics; no key needed."""

from __future__ import annotations

from aiohttp import web

from gateway.daemon.metrics import CONTENT_TYPE
from gateway.http.keys import METRICS, NODE_STATES, READINESS, STORE, STREAMS

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process and its event loop answer."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to dial: the database takes writes and at least one Asterisk node is logged
    in and reconciled. `nodes` says each node's state."""
    problems = {"database": await request.app[STORE].writable()}
    problems.update(request.app[READINESS]())
    failing = {name: text for name, text in problems.items() if text}
    body = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: text or "ok" for name, text in problems.items()},
        "nodes": request.app[NODE_STATES](),
    }
    return web.json_response(body, status=200 if not failing else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS]
    registry.sse_subscribers.set(request.app[STREAMS].subscriber_count)
    return web.Response(body=registry.render(), headers={"Content-Type": CONTENT_TYPE})
