"""Caps across a pool of nodes (gateway.domain.capacity): where a call goes, and when none
may go. Pure: no event loop, time passed in."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.domain.capacity import Capacity, NodeLimits, least_loaded
from gateway.domain.model import Campaign, CampaignStatus, Tenant

A = NodeLimits("a", 10, 100.0)
B = NodeLimits("b", 20, 100.0)


def campaign(cid: str = "c1", calls: int = 50, cps: float | None = None) -> Campaign:
    return Campaign(
        pk=1, id=cid, tenant_id=1, name=cid, status=CampaignStatus.RUNNING, agent_id="a",
        phone_number_id="p", max_concurrent_calls=calls, retries_per_contact=0,
        retry_delay_seconds=300, max_calls_per_second=cps, ring_timeout_seconds=30,
        timezone="UTC", window_start=None, window_end=None, scheduled_at=None, created_at="",
        started_at=None, completed_at=None, created_by="acme",
    )  # fmt: skip


TENANT = Tenant(1, "acme", 100, 1000.0)


@pytest.mark.parametrize(
    ("nodes", "calls", "chosen"),
    [
        ([A, B], {}, "a"),  # both empty: the first configured
        ([A, B], {"a": 1}, "b"),
        ([A, B], {"a": 5, "b": 9}, "b"),  # 0.5 against 0.45: relative to capacity
        ([A, B], {"a": 5, "b": 10}, "a"),  # 0.5 each: fewer calls wins
        ([A, B], {"a": 5, "b": 11}, "a"),
        ([NodeLimits("a", 10, 1, weight=2), B], {"a": 9, "b": 10}, "a"),  # 0.45 against 0.5
        ([B], {"b": 19}, "b"),
        ([], {}, None),
    ],
)
def test_the_least_loaded_node_relative_to_its_capacity(
    nodes: list[NodeLimits], calls: dict[str, int], chosen: str | None
) -> None:
    assert least_loaded(nodes, Counter(calls)) == chosen


def fill(capacity: Capacity, node: str, count: int, cid: str = "c1") -> None:
    for n in range(count):
        capacity.hold(f"{node}-{cid}-{n}", campaign(cid).key, node)


def test_calls_spread_over_the_nodes_and_a_full_node_gets_none() -> None:
    capacity = Capacity([A, B], now=0.0)
    spread = Counter()
    for n in range(30):
        node = capacity.choose({"a", "b"}, 0.0 + n)
        assert node is not None
        capacity.take(campaign(), TENANT, node, 0.0 + n)
        capacity.hold(f"att-{n}", campaign().key, node)
        spread[node] += 1
    assert spread == {"a": 10, "b": 20}  # both full, in proportion to their caps
    assert capacity.wait(campaign(), TENANT, 100.0, {"a", "b"}) is None
    assert capacity.choose({"a", "b"}, 100.0) is None
    capacity.release("att-0")
    assert capacity.wait(campaign(), TENANT, 100.0, {"a", "b"}) == 0.0
    assert capacity.by_node(campaign().key) == {"a": 9, "b": 20}  # the first call went to a
    assert capacity.choose({"a", "b"}, 100.0) == "a"


def test_only_usable_nodes_are_counted() -> None:
    capacity = Capacity([A, B], now=0.0)
    fill(capacity, "a", 10)
    assert capacity.wait(campaign(), TENANT, 0.0, {"a"}) is None  # b is down or not a carrier
    assert capacity.wait(campaign(), TENANT, 0.0, set()) is None
    assert capacity.wait(campaign(), TENANT, 0.0, {"a", "b"}) == 0.0
    assert capacity.choose({"a", "b"}, 0.0) == "b"
    assert capacity.choose({"a"}, 0.0) is None


def test_tenant_and_campaign_caps_hold_across_all_nodes() -> None:
    capacity = Capacity([A, B], now=0.0)
    small = campaign(calls=4)
    fill(capacity, "a", 2)
    fill(capacity, "b", 2)
    assert capacity.wait(small, TENANT, 0.0, {"a", "b"}) is None  # 2 + 2 = its 4
    tenant = Tenant(1, "acme", 5, 1000.0)
    assert capacity.wait(campaign(), tenant, 0.0, {"a", "b"}) == 0.0
    fill(capacity, "b", 1, cid="c2")
    assert capacity.wait(campaign(), tenant, 0.0, {"a", "b"}) is None  # 5 over two nodes
    assert capacity.by_node(small.key) == {"a": 2, "b": 2}
    assert capacity.tenant_in_flight(1) == 5


def test_a_node_whose_pace_is_spent_waits_while_another_has_a_token() -> None:
    slow = NodeLimits("a", 10, 2.0)
    capacity = Capacity([slow, B], now=0.0)
    capacity.take(campaign(), TENANT, "a", 0.0)
    assert capacity.choose({"a", "b"}, 0.01) == "b"
    assert capacity.choose({"a"}, 0.01) is None
    assert capacity.wait(campaign(), TENANT, 0.01, {"a"}) == pytest.approx(0.49)
    assert capacity.wait(campaign(), TENANT, 0.01, {"a", "b"}) == 0.0  # the tenant's refilled
    assert capacity.choose({"a"}, 0.5) == "a"


def test_releases_free_the_node_and_the_campaign() -> None:
    capacity = Capacity([A, B], now=0.0)
    capacity.hold("x", campaign().key, "b")
    capacity.hold("x", campaign().key, "b")  # held twice: counted once
    assert (capacity.node_in_flight("b"), capacity.held_campaigns("b")) == (
        1, {"x": campaign().key},
    )  # fmt: skip
    assert capacity.release("x") is True
    assert capacity.release("x") is False
    assert (capacity.node_in_flight("b"), capacity.in_flight(), capacity.held_campaigns("b")) == (
        0, 0, {},
    )  # fmt: skip
    assert capacity.by_node(campaign().key) == {"a": 0, "b": 0}
