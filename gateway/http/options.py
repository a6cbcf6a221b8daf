"""GET /api/v1/options: the agents and phone numbers a tenant may choose from (their ids
only: a tenant never sees a dialplan name or a dial string). Read-only; key required."""

from __future__ import annotations

from aiohttp import web

from gateway.http.keys import CONFIG

routes = web.RouteTableDef()


@routes.get("/api/v1/options")
async def options(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    return web.json_response(
        {
            "agents": [agent.id for agent in config.agents],
            "phone_numbers": [number.id for number in config.phone_numbers],
        }
    )
