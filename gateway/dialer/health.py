"""What the dispatcher tells the outside about itself: scrape-time metrics and readiness."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from gateway.domain.calls import TelephonyState
from gateway.domain.capacity import Capacity
from gateway.domain.model import Tenant


def metric_families(
    capacity: Capacity, tenants: Sequence[Tenant], state: TelephonyState
) -> list[GaugeMetricFamily]:
    """Calls in flight, cap saturation, AMI reconnects."""
    in_flight = GaugeMetricFamily("gateway_calls_in_flight", "Calls from Originate to end")
    in_flight.add_metric([], capacity.in_flight())
    saturation = GaugeMetricFamily(
        "gateway_tenant_cap_saturation",
        "Calls in flight over the tenant's concurrent-call maximum (1 = at the cap)",
        labels=["tenant"],
    )
    for tenant in tenants:
        used = capacity.tenant_in_flight(tenant.id) / tenant.max_concurrent_calls
        saturation.add_metric([tenant.name], used)
    host = GaugeMetricFamily("gateway_host_cap_saturation", "Calls in flight over the host ceiling")
    host.add_metric([], capacity.in_flight() / capacity.host_max_calls)
    reconnects = CounterMetricFamily(
        "gateway_ami_reconnects", "AMI connection attempts after the first"
    )
    reconnects.add_metric([], state.reconnects)
    return [in_flight, saturation, host, reconnects]


def readiness(state: TelephonyState, reconciled: bool, storage_problem: str) -> dict[str, str]:
    problems = {"calls": ""}
    if storage_problem:
        problems["calls"] = f"call events wait for the storage: {storage_problem}"
    if not state.logged_in:
        return {**problems, "ami": f"not logged in to AMI: {state.last_error or 'connecting'}"}
    if not reconciled:
        return {**problems, "ami": "logged in, reconciling calls in flight with Asterisk"}
    return {**problems, "ami": ""}
