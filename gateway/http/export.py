"""GET /api/v1/campaigns/{id}/contacts.csv: a campaign's contacts with their outcomes, as
CSV, streamed a page at a time (never the whole file in memory), with the contacts
list's filters (`status`; `limit`/`offset`/`page` when given, else every contact)."""

from __future__ import annotations

import csv
import io

import structlog
from aiohttp import web

from gateway.domain import csvexport
from gateway.http.campaigns import contact_status, paging
from gateway.http.keys import SERVICE, TENANT

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

BATCH = 1000  # contacts read and written at a time


def _encode(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


@routes.get("/api/v1/campaigns/{id}/contacts.csv")
async def contacts_csv(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    campaign = await service.get(request[TENANT], request.match_info["id"])
    status = contact_status(request)
    if {"limit", "offset", "page"} & set(request.query):
        remaining, skip = paging(request)
    else:
        remaining, skip = None, 0
    names = campaign.custom_field_names
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="contacts-{campaign.id}.csv"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    after = 0
    try:
        await response.write(_encode([csvexport.header(names)]))
        while remaining is None or remaining > 0:
            limit = BATCH if remaining is None else min(BATCH, remaining)
            contacts = await service.store.contacts_after(campaign, status, after, limit, skip)
            if not contacts:
                break
            skip = 0
            after = contacts[-1]["id"]
            if remaining is not None:
                remaining -= len(contacts)
            await response.write(_encode([csvexport.row(c, names) for c in contacts]))
        await response.write_eof()
    except ConnectionResetError:  # the client left
        pass
    except Exception:
        # Too late for an error status: cut the connection, so the client sees a broken
        # download (no final chunk) rather than a short file that looks complete.
        log.exception("contacts export failed", campaign_id=campaign.id, after=after)
        if request.transport is not None:
            request.transport.abort()
    return response
