"""The SSE fan-out: one shared reader per watched campaign, a bounded buffer per stream.

A campaign's `Feed` reads the store once per wake-up (the campaign row, then the events
after its position) and offers what it read to every stream of that campaign, already
encoded. A stream whose buffer would overflow (a client that does not read) is marked
behind: the feed stops offering to it, and it catches up from the store on its own, at
its own pace, then rejoins the feed. So a slow client delays only itself, the store is
read once per campaign whatever the number of streams, and memory per stream is bounded.

Streams are keyed on the campaign's `CampaignKey` (tenant and public id), never its pk,
and counted per tenant against `max_streams_per_tenant`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from typing import Protocol

import structlog

from gateway.domain.model import Campaign, CampaignKey
from gateway.events import EventBus
from gateway.store.campaigns import StoredEvent

log = structlog.get_logger(__name__)

READ_BATCH = 1000  # events per store read
BUFFER_EVENTS = 2000  # a stream's buffer; beyond it the stream catches up on its own
RESCAN_SECONDS = 2.0  # a feed re-reads even unwoken: nothing published is ever missed
# Wake-ups closer together than this are read together: every read wakes each stream of
# the campaign, so the pause grows with their number (50 us each: 1 stream, none to
# speak of; 1,000 streams, 50 ms), capped so events never wait longer than COALESCE_MAX.
COALESCE_PER_STREAM = 50e-6
COALESCE_MAX = 0.1
WAKE_CHUNK = 20  # streams woken per turn of the event loop


class CampaignReader(Protocol):
    async def get(self, tenant_id: int, campaign_id: str) -> Campaign | None: ...

    async def events_after(self, pk: int, after: int, limit: int) -> list[StoredEvent]: ...

    async def last_event_id(self, pk: int) -> int: ...

    async def history_start(self, pk: int, transitions: int) -> int: ...


Entry = tuple[int, bytes]  # (event id, the event as SSE bytes)


def encode(event: StoredEvent) -> Entry:
    return event.id, f"id: {event.id}\nevent: {event.type}\ndata: {event.data}\n\n".encode()


class TooManyStreams(Exception):
    pass


class StreamsClosing(Exception):
    pass


class Stream:
    """One client's place in one campaign's events."""

    __slots__ = ("behind", "buffer", "closed", "feed", "position", "queued", "wake")

    def __init__(self, feed: Feed, position: int, behind: bool) -> None:
        self.feed = feed
        self.position = position  # the last event id sent to the client
        self.queued = position  # the last event id in the buffer (or sent)
        self.buffer: deque[Entry] = deque()
        self.behind = behind  # reads the store itself until it has caught up
        self.wake = asyncio.Event()
        self.closed = False

    def offer(self, entries: list[Entry]) -> None:
        """From the feed: the events it just read (ids ascending)."""
        if self.behind:
            return
        if not entries:
            return
        # Usually the whole batch is new: no per-event filtering for each stream then.
        fresh = (
            entries if entries[0][0] > self.queued else [e for e in entries if e[0] > self.queued]
        )
        if not fresh:
            return
        if len(self.buffer) + len(fresh) > BUFFER_EVENTS:
            self.behind = True  # what is buffered stays valid: it catches up after it
            return
        self.buffer.extend(fresh)
        self.queued = fresh[-1][0]

    def take(self) -> list[Entry]:
        """What to send now: the buffer, or (behind) nothing: call `catch_up`."""
        entries = list(self.buffer)
        self.buffer.clear()
        return entries

    async def catch_up(self) -> list[Entry]:
        """Behind: the next stored events after what was sent, read at this stream's own
        pace; rejoins the feed once nothing is left between it and the feed."""
        feed = self.feed
        events = await feed.reader.events_after(feed.pk, self.position, READ_BATCH)
        entries = [encode(e) for e in events]
        last = entries[-1][0] if entries else self.position
        if last >= feed.position:  # nothing between: the feed's next offers follow on
            self.behind = False
        self.queued = max(self.queued, last)
        return entries

    def sent(self, entries: list[Entry]) -> None:
        if entries:
            self.position = entries[-1][0]

    @property
    def caught_up(self) -> bool:
        return not self.behind and not self.buffer and self.position >= self.feed.position

    async def wait(self, at_most: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):
                await self.wake.wait()
        self.wake.clear()


class Feed:
    """The shared reader of one campaign, alive while it has streams."""

    def __init__(self, key: CampaignKey, campaign: Campaign, reader: CampaignReader) -> None:
        self.key = key
        self.pk = campaign.pk
        self.campaign: Campaign | None = campaign  # None once deleted
        self.reader = reader
        self.position = 0  # the last event id read and offered
        self.streams: set[Stream] = set()
        self.metrics: tuple[float, bytes] | None = None  # (at, snapshot), shared by streams
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.position = await self.reader.last_event_id(self.pk)
        self._task = asyncio.create_task(self._run(), name=f"sse-feed-{self.key.campaign_id}")

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while self.campaign is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RESCAN_SECONDS):
                    await self._wake.wait()
            await asyncio.sleep(min(COALESCE_MAX, len(self.streams) * COALESCE_PER_STREAM))
            self._wake.clear()
            try:
                await self._read()
            except Exception:  # a failed read is tried again at the next wake-up
                log.exception("reading a campaign's events failed", campaign_id=self.key[1])
                await asyncio.sleep(0.5)
            await self._wake_streams()

    async def _read(self) -> None:
        # The campaign first, then the events: a terminal status read here means every
        # event up to the terminal transition is stored and in the read that follows.
        campaign = await self.reader.get(*self.key)
        while True:
            events = await self.reader.events_after(self.pk, self.position, READ_BATCH)
            if events:
                entries = [encode(e) for e in events]
                self.position = entries[-1][0]
                for stream in self.streams:
                    stream.offer(entries)
            if len(events) < READ_BATCH:
                break
            await self._wake_streams()  # more to read: let them drain meanwhile
        self.campaign = campaign

    async def _wake_streams(self) -> None:
        """Wake every stream, WAKE_CHUNK at a time with a turn of the event loop between:
        a thousand streams woken at once would run back to back while an API request
        waits for all of them."""
        for count, stream in enumerate(list(self.streams), 1):
            stream.wake.set()
            if count % WAKE_CHUNK == 0:
                await asyncio.sleep(0)


class StreamHub:
    """Every open event stream, by campaign; the per-tenant limit."""

    def __init__(self, bus: EventBus, reader: CampaignReader, max_per_tenant: int) -> None:
        self._bus = bus
        self._reader = reader
        self.max_per_tenant = max_per_tenant
        self._feeds: dict[CampaignKey, Feed] = {}
        self._opening: dict[CampaignKey, asyncio.Task[Feed]] = {}
        self._per_tenant: Counter[int] = Counter()
        self.closing = False

    @property
    def subscriber_count(self) -> int:
        return sum(self._per_tenant.values())

    async def open(self, campaign: Campaign, resume_from: int | None, history: int = 0) -> Stream:
        """A stream of the campaign from `resume_from` (None: from now on, after its last
        `history` contact transitions). Raises `TooManyStreams` beyond the tenant's limit."""
        key = campaign.key
        if self._per_tenant[key.tenant_id] >= self.max_per_tenant:
            raise TooManyStreams(
                f"this tenant already has {self.max_per_tenant} open event streams (the "
                "limit); close one first"
            )
        self._per_tenant[key.tenant_id] += 1  # counted at once: concurrent opens see it
        try:
            # Where history starts is read first: from taking an existing feed to joining
            # it there is no await, so a feed cannot be closed between the two.
            if resume_from is None and history:
                resume_from = await self._reader.history_start(campaign.pk, history)
            feed = await self._feed(campaign)
        except BaseException:
            self._release(key.tenant_id)
            raise
        if self.closing:  # shutting down: it ends after its opening block
            self._release(key.tenant_id)
            raise StreamsClosing("the gateway is shutting down; reconnect in a moment")
        if resume_from is None or resume_from >= feed.position:
            stream = Stream(feed, feed.position if resume_from is None else resume_from, False)
        else:
            stream = Stream(feed, resume_from, behind=True)
        feed.streams.add(stream)
        return stream

    async def close(self, stream: Stream) -> None:
        feed = stream.feed
        feed.streams.discard(stream)
        self._release(feed.key.tenant_id)
        if not feed.streams and self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]
            self._bus.unlisten(feed.key)
            await feed.close()

    def close_all(self) -> None:
        """Graceful shutdown: every stream ends after what it has already been sent."""
        self.closing = True
        for feed in self._feeds.values():
            for stream in feed.streams:
                stream.closed = True
                stream.wake.set()

    async def _feed(self, campaign: Campaign) -> Feed:
        key = campaign.key
        feed = self._feeds.get(key)
        if feed is not None:
            return feed
        opening = self._opening.get(key)
        if opening is None:  # the first stream of the campaign opens its feed; others wait
            opening = asyncio.ensure_future(self._new_feed(campaign))
            self._opening[key] = opening
            opening.add_done_callback(lambda _: self._opening.pop(key, None))
        return await asyncio.shield(opening)

    async def _new_feed(self, campaign: Campaign) -> Feed:
        feed = Feed(campaign.key, campaign, self._reader)
        await feed.open()
        self._feeds[campaign.key] = feed
        self._bus.listen(campaign.key, feed.wake)
        return feed

    def _release(self, tenant_id: int) -> None:
        self._per_tenant[tenant_id] -= 1
        if self._per_tenant[tenant_id] <= 0:
            del self._per_tenant[tenant_id]
