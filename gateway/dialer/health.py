"""What the dispatcher tells the outside about itself: scrape-time metrics and readiness."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from gateway.dialer.nodes import NodePool
from gateway.domain.capacity import Capacity
from gateway.domain.model import Tenant


def metric_families(
    capacity: Capacity, tenants: Sequence[Tenant], nodes: NodePool
) -> list[GaugeMetricFamily]:
    """Calls in flight and cap saturation per node, tenant saturation, AMI reconnects."""
    in_flight = GaugeMetricFamily(
        "gateway_calls_in_flight", "Calls from Originate to end, by node", labels=["node"]
    )
    host = GaugeMetricFamily(
        "gateway_host_cap_saturation",
        "Calls in flight over the node's concurrent-call maximum (1 = at the cap)",
        labels=["node"],
    )
    reconnects = CounterMetricFamily(
        "gateway_ami_reconnects", "AMI connection attempts after the first", labels=["node"]
    )
    for node, link in nodes.links.items():
        calls = capacity.node_in_flight(node)
        in_flight.add_metric([node], calls)
        host.add_metric([node], calls / link.limits.max_concurrent_calls)
        reconnects.add_metric([node], link.telephony.state.reconnects)
    saturation = GaugeMetricFamily(
        "gateway_tenant_cap_saturation",
        "Calls in flight over the tenant's concurrent-call maximum (1 = at the cap)",
        labels=["tenant"],
    )
    for tenant in tenants:
        used = capacity.tenant_in_flight(tenant.id) / tenant.max_concurrent_calls
        saturation.add_metric([tenant.name], used)
    return [in_flight, saturation, host, reconnects]


def readiness(nodes: NodePool, storage_problem: str) -> dict[str, str]:
    """Ready while at least one node is logged in and reconciled (each node's own state
    is in `NodePool.states`)."""
    problems = {"calls": ""}
    if storage_problem:
        problems["calls"] = f"call events wait for the storage: {storage_problem}"
    if nodes.any_ready:
        return {**problems, "ami": ""}
    why = []
    for node, link in nodes.links.items():
        state = link.telephony.state
        if not state.logged_in:
            why.append(f"{node}: not logged in to AMI: {state.last_error or 'connecting'}")
        else:
            why.append(f"{node}: logged in, reconciling calls in flight with Asterisk")
    if len(why) == 1:  # one node: said as before
        return {**problems, "ami": why[0].split(": ", 1)[1]}
    return {**problems, "ami": "no Asterisk node is ready (" + "; ".join(why) + ")"}
