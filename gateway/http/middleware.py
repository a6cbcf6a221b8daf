"""Request id and API key middlewares."""

from __future__ import annotations

import secrets
import time

import structlog
from aiohttp import web

from gateway.http.errors import error_response
from gateway.http.keys import METRICS, STORE, TENANT

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1/"
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})


@web.middleware
async def request_context(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Binds a request id to every log line of the request and times it."""
    request_id = request.headers.get("X-Request-Id", "")
    if not (0 < len(request_id) <= 64 and request_id.isascii() and request_id.isprintable()):
        request_id = secrets.token_hex(8)
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        response = await handler(request)
        elapsed = time.perf_counter() - started
        route = request.match_info.route.resource
        template = route.canonical if route is not None else "unmatched"
        metrics = request.app.get(METRICS)
        if metrics is not None:
            metrics.observe_request(request.method, template, response.status, elapsed)
        (log.info if response.status >= 400 else log.debug)(
            "request",
            method=request.method,
            path=request.path,
            status=response.status,
            ms=round(elapsed * 1000, 1),
        )
        response.headers.setdefault("X-Request-Id", request_id)
        return response


@web.middleware
async def api_key_auth(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if not request.path.startswith(API_PREFIX) or request.path in PUBLIC_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    tenant = None
    if scheme.lower() == "bearer" and key.strip():
        tenant = await request.app[STORE].tenants.authenticate(key.strip())
    if tenant is None:
        response = error_response(401, "missing or invalid API key (Authorization: Bearer <key>)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="campaign-gateway"'
        return response
    request[TENANT] = tenant
    with structlog.contextvars.bound_contextvars(tenant=tenant.name):
        return await handler(request)
