"""Cap accounting: how many calls are in flight per campaign, per tenant and on each
Asterisk node, whether one more may be originated now, and on which node. Pure: time is
passed in, and which nodes are usable (logged in, reconciled, carrying the campaign's
number) is the caller's to say.

A call holds its place from before its Originate until its end has been recorded, so the
counts here are never below what Asterisk has alive. Campaigns are named by their
`CampaignKey`, never by a row pk. Tenant and campaign caps count the calls of every node
together; a node's own caps count only its calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.domain.model import Campaign, CampaignKey, Tenant
from gateway.domain.pacing import TokenBucket


@dataclass(frozen=True)
class NodeLimits:
    """One Asterisk node's own caps. `weight` scales its share when nodes are compared: a
    node of weight 2 is picked as if it had twice its capacity."""

    id: str
    max_concurrent_calls: int
    max_calls_per_second: float
    weight: float = 1.0


def least_loaded(nodes: Sequence[NodeLimits], in_flight: Counter[str]) -> str | None:
    """The node with the least load relative to its capacity (calls in flight over its
    concurrent-call cap, divided by its weight); ties go to the one with fewer calls,
    then to the first configured. None for no node."""
    best: tuple[float, int, int] | None = None
    chosen = None
    for order, node in enumerate(nodes):
        calls = in_flight[node.id]
        score = (calls / (node.max_concurrent_calls * node.weight), calls, order)
        if best is None or score < best:
            best, chosen = score, node.id
    return chosen


def _drop(counter: Counter[Any], key: Any) -> None:
    counter[key] -= 1
    if not counter[key]:
        del counter[key]


class Capacity:
    def __init__(self, nodes: Sequence[NodeLimits], now: float) -> None:
        self.nodes = {node.id: node for node in nodes}
        self._node_buckets = {
            node.id: TokenBucket(node.max_calls_per_second, now=now) for node in nodes
        }
        self._held: dict[str, tuple[CampaignKey, str]] = {}  # attempt → (campaign, node)
        self._by_campaign: Counter[CampaignKey] = Counter()
        self._by_tenant: Counter[int] = Counter()
        self._by_node: Counter[str] = Counter()
        self._by_campaign_node: Counter[tuple[CampaignKey, str]] = Counter()
        self._campaign_buckets: dict[CampaignKey, TokenBucket] = {}
        self._tenant_buckets: dict[int, TokenBucket] = {}

    # -- counting -------------------------------------------------------------------------

    def hold(self, attempt_id: str, campaign: CampaignKey, node: str) -> None:
        """Count a call against its caps; a second hold of the same attempt counts once."""
        if attempt_id in self._held:
            return
        self._held[attempt_id] = (campaign, node)
        self._by_campaign[campaign] += 1
        self._by_tenant[campaign.tenant_id] += 1
        self._by_node[node] += 1
        self._by_campaign_node[campaign, node] += 1

    def release(self, attempt_id: str) -> bool:
        """The call's end is recorded: its place is free. False if it was not held."""
        held = self._held.pop(attempt_id, None)
        if held is None:
            return False
        campaign, node = held
        _drop(self._by_campaign, campaign)
        _drop(self._by_tenant, campaign.tenant_id)
        _drop(self._by_node, node)
        _drop(self._by_campaign_node, (campaign, node))
        return True

    def in_flight(self, campaign: CampaignKey | None = None) -> int:
        return len(self._held) if campaign is None else self._by_campaign[campaign]

    def tenant_in_flight(self, tenant_id: int) -> int:
        return self._by_tenant[tenant_id]

    def node_in_flight(self, node: str) -> int:
        return self._by_node[node]

    def by_node(self, campaign: CampaignKey) -> dict[str, int]:
        """The campaign's calls in flight on each node (every configured node named)."""
        counts = dict.fromkeys(self.nodes, 0)
        for (key, node), calls in self._by_campaign_node.items():
            if key == campaign:
                counts[node] = calls
        return counts

    def held_campaigns(self, node: str) -> dict[str, CampaignKey]:
        """The attempts holding a place on the node, with their campaigns."""
        return {attempt: key for attempt, (key, on) in self._held.items() if on == node}

    # -- deciding -------------------------------------------------------------------------

    def _with_room(self, nodes: Collection[str]) -> list[NodeLimits]:
        return [
            limits
            for node_id, limits in self.nodes.items()
            if node_id in nodes and self._by_node[node_id] < limits.max_concurrent_calls
        ]

    def wait(
        self, campaign: Campaign, tenant: Tenant, now: float, nodes: Collection[str]
    ) -> float | None:
        """None: a concurrency cap is full, or no usable node (of `nodes`) has room (wait
        for a call to end, or a node to come back). Otherwise the seconds until the
        campaign's and tenant's buckets and the bucket of some node with room all have a
        token: 0.0 means one more call may be originated now (`choose` says where)."""
        if self._by_campaign[campaign.key] >= campaign.max_concurrent_calls:
            return None
        if self._by_tenant[tenant.id] >= tenant.max_concurrent_calls:
            return None
        room = self._with_room(nodes)
        if not room:
            return None
        node_wait = min(self._node_buckets[n.id].wait(now) for n in room)
        return max(node_wait, *(b.wait(now) for b in self._buckets(campaign, tenant, now)))

    def choose(self, nodes: Collection[str], now: float) -> str | None:
        """Of the usable `nodes`, one with room and a token now: the least loaded."""
        ready = [n for n in self._with_room(nodes) if self._node_buckets[n.id].wait(now) == 0]
        return least_loaded(ready, self._by_node)

    def take(self, campaign: Campaign, tenant: Tenant, node: str, now: float) -> None:
        """One call is originated now on `node`: it takes a token of every bucket."""
        for bucket in self._buckets(campaign, tenant, now, node):
            bucket.take(now)

    def write_at(self, campaign: Campaign, tenant: Tenant, node: str, now: float) -> float:
        """When a call whose token was taken may go out on the wire: never closer than
        1/rate after the one before it, for every bucket. Tokens are taken when a round
        picks its calls and the calls go out after the round's commit, whose time varies:
        without this, two calls could leave a little closer than the rate allows."""
        buckets = self._buckets(campaign, tenant, now, node)
        at = max([now, *(bucket.next_write for bucket in buckets)])
        for bucket in buckets:
            bucket.next_write = at + 1.0 / bucket.rate
        return at

    def wire_wait(self, campaign: Campaign, tenant: Tenant, node: str, now: float) -> float:
        """Seconds still to wait before this call may be written, judged from when the
        calls before it really went out: a send woken late by a busy event loop would
        otherwise leave right behind its successor, which was on time (5 calls within one
        second at 4/s). 0: it may go now."""
        return max(
            bucket.last_write + 1.0 / bucket.rate - now
            for bucket in self._buckets(campaign, tenant, now, node)
        )

    def wrote(self, campaign: Campaign, tenant: Tenant, node: str, now: float) -> None:
        """The call goes out on the wire now."""
        for bucket in self._buckets(campaign, tenant, now, node):
            bucket.last_write = now

    def forget(self, campaign: CampaignKey) -> None:
        """The campaign will not dial again (stopped, completed, deleted)."""
        self._campaign_buckets.pop(campaign, None)

    def _buckets(
        self, campaign: Campaign, tenant: Tenant, now: float, node: str | None = None
    ) -> list[TokenBucket]:
        bucket = self._tenant_buckets.get(tenant.id)
        if bucket is None:
            bucket = TokenBucket(tenant.max_calls_per_second, now=now)
            self._tenant_buckets[tenant.id] = bucket
        bucket.set_rate(tenant.max_calls_per_second)
        buckets = [bucket]
        if node is not None and node in self._node_buckets:
            buckets.append(self._node_buckets[node])
        if campaign.max_calls_per_second is not None:
            own = self._campaign_buckets.get(campaign.key)
            if own is None:
                own = TokenBucket(campaign.max_calls_per_second, now=now)
                self._campaign_buckets[campaign.key] = own
            own.set_rate(campaign.max_calls_per_second)
            buckets.append(own)
        return buckets
