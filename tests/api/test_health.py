"""Health, readiness and Prometheus metrics (parsed with the Prometheus client's parser)."""

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.http.keys import STORE
from gateway.store import sqlite
from gateway.store.database import StorageUnavailable
from tests.helpers import Api
from tests.unit.dialer.support import until


async def test_healthz_and_readyz_say_what_is_wrong(api: Api) -> None:
    assert await (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503  # the test config points AMI at a closed port
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["ami"].startswith("not logged in to AMI")


async def test_metrics_in_prometheus_format(api: Api) -> None:
    campaign = await api.create_ok()
    await api.request("POST", f"/campaigns/{campaign['id']}/start")
    response = await api.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    for name in (
        "gateway_calls_originated",
        "gateway_calls_answered",
        "gateway_calls_failed",
        "gateway_calls_in_flight",
        "gateway_tenant_cap_saturation",
        "gateway_host_cap_saturation",
        "gateway_ami_logged_in",
        "gateway_ami_reconnects",
        "gateway_ami_events",
        "gateway_sse_subscribers",
        "gateway_http_request_duration_seconds",
        "gateway_db_write_duration_seconds",
    ):
        assert name in families, name
    routes = {
        s.labels.get("route") for s in families["gateway_http_request_duration_seconds"].samples
    }
    assert "/api/v1/campaigns" in routes
    writes = [
        s
        for s in families["gateway_db_write_duration_seconds"].samples
        if s.name.endswith("_count")
    ]
    assert writes and writes[0].value > 0
    assert families["gateway_ami_logged_in"].samples[0].value == 0


async def test_readyz_probes_the_database_at_most_once_a_second(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.client.app[STORE]
    monkeypatch.setattr(sqlite, "PROBE_SECONDS", 3600.0)  # however slow the machine
    before = store.probes
    answers = await asyncio.gather(*(api.client.get("/readyz") for _ in range(50)))
    for answer in answers:
        assert (await answer.json())["checks"]["database"] == "ok"
    assert store.probes - before == 1  # one probe, shared by all
    monkeypatch.setattr(sqlite, "PROBE_SECONDS", 0.0)  # now the cached answer is too old
    await api.client.get("/readyz")
    assert store.probes - before == 2


async def test_readyz_turns_red_when_the_database_takes_no_write(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.client.app[STORE]
    await api.client.get("/readyz")

    async def full(*args: object) -> None:
        raise StorageUnavailable("the disk holding the database is full", full=True)

    monkeypatch.setattr(store.db, "execute", full)
    seen: dict[str, object] = {}

    async def red() -> bool:
        seen.update(await (await api.client.get("/readyz")).json())
        return "full" in str(seen["checks"])

    await until(red, 3, lambda: seen)
    assert seen["status"] == "unavailable"


async def test_readyz_answers_within_a_second_when_the_database_hangs(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.client.app[STORE]
    monkeypatch.setattr(sqlite, "PROBE_SECONDS", 0.0)
    hang = asyncio.Event()

    async def stuck(*args: object) -> None:
        await hang.wait()

    monkeypatch.setattr(store.db, "execute", stuck)
    before = store.probes
    async with asyncio.timeout(5):  # PROBE_WAIT is 1 s: not held for the lock's 10 s
        answers = await asyncio.gather(*(api.client.get("/readyz") for _ in range(3)))
    bodies = [await a.json() for a in answers]
    assert all("within 1 s" in b["checks"]["database"] for b in bodies), bodies
    assert store.probes - before == 1  # the slow probe is waited on, never doubled
    hang.set()
