"""In-process "a campaign has new stored events": the publish side of the live streams.

Publishers (the dialler, the campaign service) call `publish(key)` after they have stored
the events. It never blocks and costs one dict lookup: whoever listens to that campaign
(the SSE fan-out, gateway.http.streams) is woken, and reads the store itself.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.domain.model import CampaignKey


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[CampaignKey, Callable[[], None]] = {}

    def listen(self, key: CampaignKey, wake: Callable[[], None]) -> None:
        """One listener per campaign (the campaign's shared reader)."""
        self._listeners[key] = wake

    def unlisten(self, key: CampaignKey) -> None:
        self._listeners.pop(key, None)

    def publish(self, key: CampaignKey) -> None:
        wake = self._listeners.get(key)
        if wake is not None:
            wake()
