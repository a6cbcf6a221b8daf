"""A running campaign as the dispatcher holds it: its due contacts read ahead, and the
contacts whose calling window is closed sent to wait for it, out of the way of the rest."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.dialer.windows import CallingWindows, Deferral
from gateway.domain.model import Campaign, Tenant
from gateway.store.dialing import DialStore, DialTarget

PREFETCH = 100  # due contacts read ahead per campaign
REREAD_SECONDS = 1.0  # a campaign with nothing due looks again after this


@dataclass
class RunningCampaign:
    campaign: Campaign
    tenant: Tenant
    queue: deque[DialTarget] = field(default_factory=deque)
    exhausted_until: float = 0.0  # nothing due before then (retries wait)
    served_at: float = 0.0  # when a round last picked a call of it (monotonic)

    async def defer_closed(self, store: DialStore, windows: CallingWindows, now: datetime) -> None:
        """Contacts whose window is closed wait for it, out of the way of the others."""
        moved = await windows.defer_closed(store, self.campaign, now)
        if moved:
            self.queue = deque(t for t in self.queue if t.zone_set not in moved)

    async def _defer(
        self, store: DialStore, windows: CallingWindows, deferral: Deferral, now: datetime
    ) -> int:
        moved = await windows.defer(store, self.campaign, deferral, now)
        if moved:
            self.queue = deque(t for t in self.queue if t.zone_set != deferral.zone_set)
        return moved

    async def next_target(self, store: DialStore, windows: CallingWindows) -> DialTarget | None:
        """The next due contact whose calling window is open now. One whose window is
        closed sends its zone list's due contacts to wait for it, itself included: every
        contact in the queue was due when it was read, and the deferral moves what is due
        at a moment after that (one clock for both, so the one it found always moves)."""
        while True:
            if not self.queue:
                now = time.time()
                if now < self.exhausted_until:
                    return None
                # No more than the campaign can dial at once: a queue holds contacts' values.
                ahead = min(PREFETCH, self.campaign.max_concurrent_calls)
                due = await store.due_contacts(self.campaign.pk, now, ahead)
                if not due:
                    self.exhausted_until = now + REREAD_SECONDS
                    return None
                self.queue.extend(due)
            target = self.queue.popleft()
            moment = datetime.now(UTC)
            state = windows.state(self.campaign, target.zone_set, moment)
            if state.open:
                return target
            deferral = windows.deferral(self.campaign, target.zone_set, state)
            if not await self._defer(store, windows, deferral, moment):
                # Nothing moved: it is no longer pending (settled meanwhile). Never a loop:
                # this campaign reads again after a refresh.
                self.queue.clear()
                self.exhausted_until = time.time() + REREAD_SECONDS
                return None
