"""Which of a running campaign's contacts may be called now, by the zones they are in.

A campaign's contacts fall into a few zone lists (its `zone_sets`, plus None for "the
campaign's own timezone"). The window of each list is worked out once and kept until it
next changes, so the check made for every call is a dictionary lookup. A list whose
window is closed has its due contacts deferred in one statement, to the moment it opens:
they leave the head of the queue and the other contacts are dialled meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from gateway.domain.model import Campaign, CampaignKey
from gateway.domain.window import DailyWindow, WindowState, local_times, window_state
from gateway.domain.zones import Zones
from gateway.store.dialing import DialStore

log = structlog.get_logger(__name__)

ZoneSet = int | None
WAITING_RECOUNT = 5.0  # seconds between counts of the contacts waiting for their window
_ZONES_NAMED = 3  # a decision's detail names this many zones, then "and N more"


@dataclass
class _CampaignWindows:
    window: DailyWindow
    states: dict[ZoneSet, WindowState] = field(default_factory=dict)
    deferred: dict[ZoneSet, datetime] = field(default_factory=dict)  # bulk-deferred until
    waiting: int = 0
    counted_at: float = float("-inf")
    # zone list: (the minute, its local times) for the `dialled` decisions of that minute
    shown: dict[ZoneSet, tuple[datetime, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Deferral:
    zone_set: ZoneSet
    until: datetime
    detail: str


class CallingWindows:
    """Per running campaign: its zone lists' windows, and who waits for one."""

    def __init__(self, calling_hours: DailyWindow) -> None:
        self._hours = calling_hours
        self._campaigns: dict[CampaignKey, _CampaignWindows] = {}

    def _of(self, campaign: Campaign) -> _CampaignWindows:
        kept = self._campaigns.get(campaign.key)
        if kept is None:
            window = DailyWindow.between(campaign.window_start, campaign.window_end)
            kept = self._campaigns[campaign.key] = _CampaignWindows(window.overlap(self._hours))
        return kept

    @staticmethod
    def zones(campaign: Campaign, zone_set: ZoneSet) -> Zones:
        if zone_set is not None and 0 <= zone_set < len(campaign.zone_sets):
            return campaign.zone_sets[zone_set]
        return (campaign.timezone,)

    def state(self, campaign: Campaign, zone_set: ZoneSet, now: datetime) -> WindowState:
        kept = self._of(campaign)
        state = kept.states.get(zone_set)
        if state is None or now >= state.until:
            zones = self.zones(campaign, zone_set)
            state = kept.states[zone_set] = window_state(zones, kept.window, now)
        return state

    def due_deferrals(self, campaign: Campaign, now: datetime) -> list[Deferral]:
        """The zone lists closed now whose due contacts were not deferred yet this time."""
        kept = self._of(campaign)
        found = []
        for zone_set in (None, *range(len(campaign.zone_sets))):
            state = self.state(campaign, zone_set, now)
            if state.open or kept.deferred.get(zone_set) == state.until:
                continue
            found.append(self.deferral(campaign, zone_set, state))
        return found

    def deferral(self, campaign: Campaign, zone_set: ZoneSet, state: WindowState) -> Deferral:
        kept = self._of(campaign)
        zones = self.zones(campaign, zone_set)
        closed = state.closed_in or zones
        named = ", ".join(closed[:_ZONES_NAMED])
        if len(closed) > _ZONES_NAMED:
            named += f" and {len(closed) - _ZONES_NAMED} more"
        until = _iso(state.until)
        if state.changes:
            detail = f"outside {kept.window} in {named} until {until}"
        else:
            detail = (
                f"no time inside {kept.window} in all of {named} soon; looking again at {until}"
            )
        return Deferral(zone_set, state.until, detail)

    def deferred(self, campaign: Campaign, deferral: Deferral) -> None:
        """Its due contacts were deferred: not again before the window opens."""
        self._of(campaign).deferred[deferral.zone_set] = deferral.until

    def any_closed(self, campaign: Campaign) -> bool:
        kept = self._of(campaign)
        return any(not s.open for s in kept.states.values())

    def closed_sets(self, campaign: Campaign) -> set[ZoneSet]:
        return {z for z, s in self._of(campaign).states.items() if not s.open}

    def recount_due(self, campaign: Campaign, clock: float) -> bool:
        kept = self._of(campaign)
        return clock - kept.counted_at >= WAITING_RECOUNT

    def set_waiting(self, campaign: Campaign, waiting: int, clock: float) -> None:
        kept = self._of(campaign)
        kept.waiting, kept.counted_at = waiting, clock

    def waiting(self, key: CampaignKey) -> int:
        kept = self._campaigns.get(key)
        return kept.waiting if kept is not None else 0

    def dialled_detail(
        self, campaign: Campaign, zone_set: ZoneSet, attempt: int, now: datetime
    ) -> str:
        kept = self._of(campaign)
        minute = now.replace(second=0, microsecond=0)
        cached = kept.shown.get(zone_set)
        if cached is not None and cached[0] == minute:  # every call of a minute reads alike
            shown = cached[1]
        else:
            zones = self.zones(campaign, zone_set)
            shown = local_times(zones[:_ZONES_NAMED], now)
            if len(zones) > _ZONES_NAMED:
                shown += f" and {len(zones) - _ZONES_NAMED} more"
            kept.shown[zone_set] = (minute, shown)
        return f"attempt {attempt}; inside {kept.window} at {shown}"

    # -- what the dispatcher asks at each refresh, and when it finds a closed one ----------

    async def defer(
        self, store: DialStore, campaign: Campaign, deferral: Deferral, now: datetime
    ) -> int:
        """The zone list's due contacts wait for its window. Returns how many moved."""
        moved = await store.defer_window(campaign.pk, deferral.zone_set,
                                         deferral.until.timestamp(), deferral.detail,
                                         now.timestamp())  # fmt: skip
        self.deferred(campaign, deferral)
        if moved:
            log.info("contacts wait for their calling window", campaign_id=campaign.id,
                     contacts=moved, detail=deferral.detail)  # fmt: skip
        return moved

    async def defer_closed(
        self, store: DialStore, campaign: Campaign, now: datetime
    ) -> set[ZoneSet]:
        """Every zone list closed now has its due contacts deferred (once per closing), and
        who waits is counted now and then, for the metrics. Returns the lists moved."""
        moved = set()
        for deferral in self.due_deferrals(campaign, now):
            if await self.defer(store, campaign, deferral, now):
                moved.add(deferral.zone_set)
        clock = time.monotonic()
        if not self.any_closed(campaign):
            self.set_waiting(campaign, 0, clock)
        elif self.recount_due(campaign, clock):
            closed = self.closed_sets(campaign)
            pending = await store.pending_by_zone(campaign.pk)
            waiting = sum(n for zone_set, n in pending.items() if zone_set in closed)
            self.set_waiting(campaign, waiting, clock)
        return moved

    def forget(self, key: CampaignKey) -> None:
        self._campaigns.pop(key, None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
