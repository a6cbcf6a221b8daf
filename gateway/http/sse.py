"""GET /campaigns/{id}/events: the campaign's live event stream (Server-Sent Events).

Stored events (contact and campaign transitions) carry their store id as `id:`, so a client
that reconnects with Last-Event-ID resumes exactly where it left off, across daemon
restarts too. Metrics snapshots and heartbeats are not stored and carry no id.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from gateway.domain.model import Campaign, CampaignStatus
from gateway.http.errors import BadRequest
from gateway.http.keys import BUS, LIVE_STATS, SERVICE, TENANT

routes = web.RouteTableDef()

METRICS_INTERVAL = 2.0
HEARTBEAT_INTERVAL = 15.0
REPLAY_BATCH = 1000


def _stored(event_id: int, kind: str, data: str) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"


def _unstored(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def metrics_snapshot(campaign: Campaign, live: dict[str, Any]) -> dict[str, Any]:
    counts = campaign.counts
    return {
        "campaign_id": campaign.id,
        "status": campaign.status.value,
        "counts": counts.as_dict(),
        "in_flight": counts.in_flight,
        "answer_rate": campaign.answer_rate,
        "average_talk_seconds": campaign.average_talk_seconds,
        **live,
    }


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest("Last-Event-ID: must be a non-negative integer event id")
    return value


@routes.get("/api/v1/campaigns/{id}/events")
async def campaign_events(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    campaign = await service.get(request[TENANT], request.match_info["id"])
    resume_from = _last_event_id(request)
    bus = request.app[BUS]
    live_stats = request.app[LIVE_STATS]
    store = service.store

    # Subscribe before reading the position, so nothing published in between is missed.
    subscription = bus.subscribe(campaign.key)
    try:
        last = resume_from if resume_from is not None else await store.last_event_id(campaign.pk)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        # An id-only block tells a fresh client its position, so it can resume with
        # Last-Event-ID even if the connection drops before the first event.
        await response.write(f"retry: 2000\nid: {last}\n\n".encode())
        next_metrics = 0.0
        next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL
        try:
            while True:
                # Status first, then events: a terminal status read here means every event up
                # to the terminal transition is already stored and is in the read below.
                fresh = await store.by_pk(campaign.pk)
                if fresh is None:  # deleted while we watched: nothing more will ever come
                    end = {"campaign_id": campaign.id, "status": "deleted"}
                    await response.write(_unstored("end", end))
                    break
                campaign = fresh
                events = await store.events_after(campaign.pk, last, REPLAY_BATCH)
                if events:
                    chunks = []
                    for event in events:
                        chunks.append(
                            f"id: {event.id}\nevent: {event.type}\ndata: {event.data}\n\n"
                        )
                        last = event.id
                    await response.write("".join(chunks).encode())
                    if len(events) == REPLAY_BATCH:
                        continue
                # A stopped campaign's calls in flight still finish and are recorded: the
                # stream ends once they have.
                ended = campaign.status.terminal and campaign.counts.in_flight == 0
                now = time.monotonic()
                if ended or (campaign.status is CampaignStatus.RUNNING and now >= next_metrics):
                    snapshot = metrics_snapshot(campaign, live_stats(campaign.key))
                    await response.write(
                        f"event: metrics\ndata: {json.dumps(snapshot)}\n\n".encode()
                    )
                    next_metrics = now + METRICS_INTERVAL
                if ended:
                    end = {"campaign_id": campaign.id, "status": campaign.status.value}
                    await response.write(_unstored("end", end))
                    break
                if now >= next_heartbeat:
                    await response.write(b": heartbeat\n\n")
                    next_heartbeat = now + HEARTBEAT_INTERVAL
                if subscription.closed:  # shutting down: what was stored has been sent
                    break
                wake_at = next_heartbeat
                if campaign.status is CampaignStatus.RUNNING:
                    wake_at = min(wake_at, next_metrics)
                await subscription.wait(max(0.01, wake_at - now))
            await response.write_eof()
        except ConnectionResetError:  # the client left: nothing to send it any more
            pass
        return response
    finally:
        bus.unsubscribe(subscription)
