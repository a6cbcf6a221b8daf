"""The campaigns API handlers: thin, they parse, call the service and render."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from gateway.domain.contacts import RETRY_ORDER
from gateway.domain.model import CONTACT_STATUSES, Campaign, ContactStatus, Tenant
from gateway.http.errors import BadRequest
from gateway.http.keys import SERVICE, STORE, TENANT
from gateway.http.upload import receive_upload
from gateway.service import NotFound

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

PAGE_SIZE = 100  # the reference's page
MAX_LIMIT = 1000


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status.value,
        "agent_id": campaign.agent_id,
        "phone_number_id": campaign.phone_number_id,
        "max_concurrent_calls": campaign.max_concurrent_calls,
        "retries_per_contact": campaign.retries_per_contact,
        "retry_delay_seconds": campaign.retry_delay_seconds,
        "scheduled_at": campaign.scheduled_at,
        "created_at": campaign.created_at,
        "started_at": campaign.started_at,
        "completed_at": campaign.completed_at,
        "created_by": campaign.created_by,
        "max_calls_per_second": campaign.max_calls_per_second,
        "ring_timeout_seconds": campaign.ring_timeout_seconds,
        "timezone": campaign.timezone,
        "calling_window_start": campaign.window_start,
        "calling_window_end": campaign.window_end,
        "retry_on": [o for o in RETRY_ORDER if o in campaign.retry_on],
        "amd": "on" if campaign.amd else "off",
        "machine_agent_id": campaign.machine_agent_id,
        "custom_field_names": campaign.custom_field_names,
        "duplicates": campaign.duplicates,
        "counts": campaign.counts.as_dict(),
    }


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadRequest(f"{name}: must be an integer from {low} to {high}", field=name)
    return value


def paging(request: web.Request) -> tuple[int, int]:
    """(limit, offset) from `limit`/`offset`, or the reference's `page` (100 a page)."""
    if "page" in request.query:
        if "offset" in request.query:
            raise BadRequest("page: give either page or offset, not both", field="page")
        limit = _int_param(request, "limit", PAGE_SIZE, 1, MAX_LIMIT)
        page = _int_param(request, "page", 1, 1, 10**9)
        return limit, (page - 1) * limit
    return (
        _int_param(request, "limit", PAGE_SIZE, 1, MAX_LIMIT),
        _int_param(request, "offset", 0, 0, 10**12),
    )


def contact_status(request: web.Request) -> ContactStatus | None:
    """The `status` filter of a contacts query, if any."""
    if "status" not in request.query:
        return None
    raw = request.query["status"]
    if raw not in CONTACT_STATUSES:
        raise BadRequest(
            f"status: unknown contact status {raw[:40]!r} (one of {', '.join(CONTACT_STATUSES)})",
            field="status",
        )
    return ContactStatus(raw)


def _tenant(request: web.Request) -> Tenant:
    return request[TENANT]


@routes.get("/api/v1/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    campaigns, total = await request.app[SERVICE].store.list(_tenant(request).id, limit, offset)
    return web.json_response({"campaigns": [campaign_json(c) for c in campaigns], "total": total})


@routes.post("/api/v1/campaigns")
async def create_campaign(request: web.Request) -> web.Response:
    service, tenant = request.app[SERVICE], _tenant(request)
    importer, _ = await receive_upload(
        request, lambda: service.new_import(tenant, request.content_length), tenant.id
    )
    assert importer.campaign_id is not None
    campaign = await service.get(tenant, importer.campaign_id)
    report = importer.report
    log.info(
        "campaign created",
        campaign_id=campaign.id,
        contacts=campaign.counts.total,
        duplicates=report.duplicates,
    )
    body = campaign_json(campaign)
    body["import"] = {
        "rows": report.rows,
        "contacts": campaign.counts.total,
        "duplicates": report.duplicates,
        "duplicate_rows": report.duplicate_rows,
        "dnc": report.dnc,
    }
    return web.json_response(body, status=201)


@routes.get("/api/v1/campaigns/{id}")
async def get_campaign(request: web.Request) -> web.Response:
    campaign = await request.app[SERVICE].get(_tenant(request), request.match_info["id"])
    return web.json_response(campaign_json(campaign))


@routes.delete("/api/v1/campaigns/{id}")
async def delete_campaign(request: web.Request) -> web.Response:
    await request.app[SERVICE].delete(_tenant(request), request.match_info["id"])
    return web.Response(status=204)


@routes.get("/api/v1/campaigns/{id}/contacts")
async def list_contacts(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    campaign = await service.get(_tenant(request), request.match_info["id"])
    status = contact_status(request)
    limit, offset = paging(request)
    contacts, total = await service.store.contacts(campaign, status, limit, offset)
    return web.json_response({"contacts": contacts, "total": total})


@routes.get("/api/v1/campaigns/{id}/contacts/{contact_id}")
async def get_contact(request: web.Request) -> web.Response:
    """The contact, its attempts, and the trail of every decision made about it."""
    service = request.app[SERVICE]
    campaign = await service.get(_tenant(request), request.match_info["id"])
    raw = request.match_info["contact_id"]
    contact = None
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        contact = await request.app[STORE].contacts.detail(campaign, int(raw))
    if contact is None:
        raise NotFound("contact not found")
    return web.json_response(contact)


def _command(name: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        service = request.app[SERVICE]
        action = getattr(service, name)
        campaign = await action(_tenant(request), request.match_info["id"])
        return web.json_response(campaign_json(campaign))

    handler.__name__ = f"{name}_campaign"
    return handler


for _name in ("start", "pause", "resume", "stop"):
    routes.post(f"/api/v1/campaigns/{{id}}/{_name}")(_command(_name))
