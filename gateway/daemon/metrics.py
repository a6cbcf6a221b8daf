"""Prometheus metrics, one registry per daemon (tests build several apps in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Live(Collector):
    """Figures read at scrape time from whoever owns them (dialler, bus, AMI)."""

    def __init__(self) -> None:
        self.sources: list[Callable[[], list[GaugeMetricFamily]]] = []

    def collect(self):  # type: ignore[no-untyped-def]
        for source in self.sources:
            yield from source()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls_originated = Counter(
            "gateway_calls_originated",
            "Originate actions accepted by Asterisk, by node",
            ["node"],
            registry=r,
        )
        self.calls_answered = Counter("gateway_calls_answered", "Calls answered", registry=r)
        self.calls_failed = Counter(
            "gateway_calls_failed",
            "Attempts that failed, by outcome and node",
            ["outcome", "node"],
            registry=r,
        )
        self.amd_results = Counter(
            "gateway_amd_results",
            "Answered AMD calls by answered_by, once per attempt (ended with no verdict: unknown)",
            ["result"],
            registry=r,
        )
        for result in ("human", "machine", "unknown"):
            self.amd_results.labels(result)  # every series exists from the start
        self.amd_verdict_seconds = Histogram(
            "gateway_amd_verdict_seconds",
            "Time from the answer to the verdict of answering-machine detection",
            buckets=(0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10),
            registry=r,
        )
        self.ami_events = Counter("gateway_ami_events", "AMI call events handled", registry=r)
        self.http_latency = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=r,
        )
        self.db_write_latency = Histogram(
            "gateway_db_write_duration_seconds",
            "SQLite write transaction latency",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=r,
        )
        self.sse_subscribers = Gauge("gateway_sse_subscribers", "Open event streams", registry=r)
        self.ami_connected = Gauge(
            "gateway_ami_logged_in", "1 while logged in to the node's AMI", ["node"], registry=r
        )
        self.live = _Live()
        r.register(self.live)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
