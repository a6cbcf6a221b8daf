"""Typed application and request keys shared by the HTTP edge."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.config import Config
from gateway.domain.model import Tenant
from gateway.events import EventBus
from gateway.http.streams import StreamHub
from gateway.http.uploadslots import UploadSlots
from gateway.service import CampaignService
from gateway.store.sqlite import SqliteStore

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", SqliteStore)
SERVICE = web.AppKey("service", CampaignService)
BUS = web.AppKey("bus", EventBus)
STREAMS = web.AppKey("streams", StreamHub)  # the open SSE streams and their shared readers
UPLOADS = web.AppKey("uploads", UploadSlots)  # CSV uploads in progress, per tenant
METRICS = web.AppKey("metrics", "Metrics")
LIVE_STATS = web.AppKey("live_stats", Any)  # (campaign pk) -> dict of dialler figures
READINESS = web.AppKey("readiness", Any)  # () -> dict of component name -> problem or ""
NODE_STATES = web.AppKey("node_states", Any)  # () -> dict of Asterisk node id -> its state
TENANT = web.RequestKey("tenant", Tenant)  # the authenticated tenant of a request
