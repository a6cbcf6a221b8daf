"""GET /campaigns/{id}/events: the campaign's live event stream (Server-Sent Events).

Stored events (contact and campaign transitions) carry their store id as `id:`, so a client
that reconnects with Last-Event-ID resumes exactly where it left off, across daemon
restarts too. Metrics snapshots and heartbeats are not stored and carry no id. The events
come from the campaign's shared reader (gateway.http.streams). `?history=N` starts a fresh
stream with the campaign's last N contact transitions (the dashboard's live log).
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from gateway.domain.model import Campaign, CampaignStatus
from gateway.http.errors import BadRequest, error_response
from gateway.http.keys import LIVE_STATS, SERVICE, STREAMS, TENANT
from gateway.http.streams import Stream, StreamsClosing, TooManyStreams

routes = web.RouteTableDef()

METRICS_INTERVAL = 2.0
METRICS_SHARED = 0.5  # a snapshot serves every stream of the campaign for this long
HEARTBEAT_INTERVAL = 15.0
LOOK_SECONDS = 2.0  # how often an idle stream checks that its client is still there
MAX_HISTORY = 1000  # ?history=N: at most this many past contact transitions first


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
        "machine_rate": campaign.machine_rate,
        **live,
    }


def _metrics(stream: Stream, campaign: Campaign, live_stats: Any, now: float, fresh: bool) -> bytes:
    """The campaign's metrics snapshot, built once per METRICS_SHARED seconds for all its
    streams (1,000 streams would otherwise build 500 a second); `fresh` for the last one."""
    feed = stream.feed
    if fresh or feed.metrics is None or now - feed.metrics[0] >= METRICS_SHARED:
        snapshot = metrics_snapshot(campaign, live_stats(campaign.key))
        feed.metrics = (now, _unstored("metrics", snapshot))
    return feed.metrics[1]


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


def _history(request: web.Request) -> int:
    raw = request.query.get("history")
    if raw is None:
        return 0
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_HISTORY):
        raise BadRequest(f"history: must be a whole number from 1 to {MAX_HISTORY}")
    return int(raw)


@routes.get("/api/v1/campaigns/{id}/events")
async def campaign_events(request: web.Request) -> web.StreamResponse:
    campaign = await request.app[SERVICE].get(request[TENANT], request.match_info["id"])
    resume_from = _last_event_id(request)
    history = _history(request)  # checked even when Last-Event-ID makes it moot
    hub = request.app[STREAMS]
    try:
        stream = await hub.open(campaign, resume_from, history)
    except TooManyStreams as exc:
        return error_response(429, str(exc))
    except StreamsClosing as exc:
        return error_response(503, str(exc))
    try:
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
        await response.write(f"retry: 2000\nid: {stream.position}\n\n".encode())
        try:
            await _send(request, response, stream)
            await response.write_eof()
        except ConnectionResetError:  # the client left: nothing to send it any more
            pass
        return response
    finally:
        await hub.close(stream)


async def _send(request: web.Request, response: web.StreamResponse, stream: Stream) -> None:
    live_stats = request.app[LIVE_STATS]
    next_metrics = 0.0
    next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL
    while True:
        entries = stream.take() or (await stream.catch_up() if stream.behind else [])
        if entries:
            await response.write(b"".join(wire for _, wire in entries))
            stream.sent(entries)
            continue  # drain everything there is before anything else
        campaign = stream.feed.campaign
        if campaign is None:  # deleted while we watched: nothing more will ever come
            end = {"campaign_id": stream.feed.key.campaign_id, "status": "deleted"}
            await response.write(_unstored("end", end))
            return
        # A stopped campaign's calls in flight still finish and are recorded: the
        # stream ends once they have, and once it has sent every event before that.
        ended = stream.caught_up and campaign.status.terminal and not campaign.counts.in_flight
        now = time.monotonic()
        running = campaign.status is CampaignStatus.RUNNING
        if ended or (running and now >= next_metrics):
            await response.write(_metrics(stream, campaign, live_stats, now, fresh=ended))
            next_metrics = now + METRICS_INTERVAL
        if ended:
            end = {"campaign_id": campaign.id, "status": campaign.status.value}
            await response.write(_unstored("end", end))
            return
        if now >= next_heartbeat:
            await response.write(b": heartbeat\n\n")
            next_heartbeat = now + HEARTBEAT_INTERVAL
        if stream.closed:  # shutting down: what was read has been sent
            return
        transport = request.transport
        if transport is None or transport.is_closing():  # the client left: free its place
            return
        wake_at = min(next_heartbeat, next_metrics) if running else next_heartbeat
        # At most LOOK_SECONDS asleep: a client that left is noticed without waiting for a
        # write to fail (up to 15 s idle), which would hold its place against the limit.
        await stream.wait(max(0.01, min(wake_at - now, LOOK_SECONDS)))
