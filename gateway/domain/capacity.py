"""Cap accounting: how many calls are in flight per campaign, per tenant and on the host,
and whether one more may be originated now. Pure: time is passed in.

A call holds its place from before its Originate until its end has been recorded, so the
counts here are never below what Asterisk has alive. Campaigns are named by their
`CampaignKey`, never by a row pk.
"""

from __future__ import annotations

from collections import Counter

from gateway.domain.model import Campaign, CampaignKey, Tenant
from gateway.domain.pacing import TokenBucket


class Capacity:
    def __init__(self, host_max_calls: int, host_calls_per_second: float, now: float) -> None:
        self.host_max_calls = host_max_calls
        self._host_bucket = TokenBucket(host_calls_per_second, now=now)
        self._held: dict[str, tuple[CampaignKey, int]] = {}  # attempt → (campaign, tenant)
        self._by_campaign: Counter[CampaignKey] = Counter()
        self._by_tenant: Counter[int] = Counter()
        self._campaign_buckets: dict[CampaignKey, TokenBucket] = {}
        self._tenant_buckets: dict[int, TokenBucket] = {}

    # -- counting -------------------------------------------------------------------------

    def hold(self, attempt_id: str, campaign: CampaignKey) -> None:
        """Count a call against its caps; a second hold of the same attempt counts once."""
        if attempt_id in self._held:
            return
        self._held[attempt_id] = (campaign, campaign.tenant_id)
        self._by_campaign[campaign] += 1
        self._by_tenant[campaign.tenant_id] += 1

    def release(self, attempt_id: str) -> bool:
        """The call's end is recorded: its place is free. False if it was not held."""
        held = self._held.pop(attempt_id, None)
        if held is None:
            return False
        campaign, tenant_id = held
        self._by_campaign[campaign] -= 1
        if not self._by_campaign[campaign]:
            del self._by_campaign[campaign]
        self._by_tenant[tenant_id] -= 1
        if not self._by_tenant[tenant_id]:
            del self._by_tenant[tenant_id]
        return True

    def in_flight(self, campaign: CampaignKey | None = None) -> int:
        return len(self._held) if campaign is None else self._by_campaign[campaign]

    def tenant_in_flight(self, tenant_id: int) -> int:
        return self._by_tenant[tenant_id]

    # -- deciding -------------------------------------------------------------------------

    def wait(self, campaign: Campaign, tenant: Tenant, now: float) -> float | None:
        """None: a concurrency cap is full (wait for a call to end). Otherwise the seconds
        until every calls-per-second bucket has a token: 0.0 means one more call may be
        originated now."""
        if self._by_campaign[campaign.key] >= campaign.max_concurrent_calls:
            return None
        if self._by_tenant[tenant.id] >= tenant.max_concurrent_calls:
            return None
        if len(self._held) >= self.host_max_calls:
            return None
        return max(bucket.wait(now) for bucket in self._buckets(campaign, tenant, now))

    def take(self, campaign: Campaign, tenant: Tenant, now: float) -> None:
        """One call is originated now: it takes a token of every bucket."""
        for bucket in self._buckets(campaign, tenant, now):
            bucket.take(now)

    def write_at(self, campaign: Campaign, tenant: Tenant, now: float) -> float:
        """When a call whose token was taken may go out on the wire: never closer than
        1/rate after the one before it, for every bucket. Tokens are taken when a round
        picks its calls and the calls go out after the round's commit, whose time varies:
        without this, two calls could leave a little closer than the rate allows."""
        buckets = self._buckets(campaign, tenant, now)
        at = max([now, *(bucket.next_write for bucket in buckets)])
        for bucket in buckets:
            bucket.next_write = at + 1.0 / bucket.rate
        return at

    def wire_wait(self, campaign: Campaign, tenant: Tenant, now: float) -> float:
        """Seconds still to wait before this call may be written, judged from when the
        calls before it really went out: a send woken late by a busy event loop would
        otherwise leave right behind its successor, which was on time (5 calls within one
        second at 4/s). 0: it may go now."""
        return max(
            bucket.last_write + 1.0 / bucket.rate - now
            for bucket in self._buckets(campaign, tenant, now)
        )

    def wrote(self, campaign: Campaign, tenant: Tenant, now: float) -> None:
        """The call goes out on the wire now."""
        for bucket in self._buckets(campaign, tenant, now):
            bucket.last_write = now

    def forget(self, campaign: CampaignKey) -> None:
        """The campaign will not dial again (stopped, completed, deleted)."""
        self._campaign_buckets.pop(campaign, None)

    def _buckets(self, campaign: Campaign, tenant: Tenant, now: float) -> list[TokenBucket]:
        bucket = self._tenant_buckets.get(tenant.id)
        if bucket is None:
            bucket = TokenBucket(tenant.max_calls_per_second, now=now)
            self._tenant_buckets[tenant.id] = bucket
        bucket.set_rate(tenant.max_calls_per_second)
        buckets = [self._host_bucket, bucket]
        if campaign.max_calls_per_second is not None:
            own = self._campaign_buckets.get(campaign.key)
            if own is None:
                own = TokenBucket(campaign.max_calls_per_second, now=now)
                self._campaign_buckets[campaign.key] = own
            own.set_rate(campaign.max_calls_per_second)
            buckets.append(own)
        return buckets
