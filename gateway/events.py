"""In-process fan-out of "a campaign has new stored events" to SSE subscribers.

Publishing never blocks and never allocates per subscriber beyond setting a flag: each
subscriber reads what it has not sent yet from the store at its own pace, so a slow client
only ever delays itself, and a reconnecting one replays from the same place.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from gateway.domain.model import CampaignKey


class Subscription:
    __slots__ = ("closed", "key", "wake")

    def __init__(self, key: CampaignKey) -> None:
        self.key = key
        self.wake = asyncio.Event()
        self.closed = False

    async def wait(self, at_most: float) -> bool:
        """True when woken (new events or closing), False after `at_most` seconds."""
        try:
            await asyncio.wait_for(self.wake.wait(), at_most)
        except TimeoutError:
            return False
        self.wake.clear()
        return True


class EventBus:
    def __init__(self) -> None:
        self._subscribers: defaultdict[CampaignKey, set[Subscription]] = defaultdict(set)

    def subscribe(self, key: CampaignKey) -> Subscription:
        subscription = Subscription(key)
        self._subscribers[key].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.key)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.key]

    def publish(self, key: CampaignKey) -> None:
        for subscription in self._subscribers.get(key, ()):
            subscription.wake.set()

    def close_all(self) -> None:
        """Graceful shutdown: every stream ends after what it has already read."""
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.closed = True
                subscription.wake.set()

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())
