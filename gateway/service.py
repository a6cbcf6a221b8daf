"""The campaign service: the API's commands, carried out with the domain rules and the store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from gateway.domain import lifecycle
from gateway.domain.csvimport import CsvContacts, Row
from gateway.domain.lifecycle import Transition
from gateway.domain.model import Campaign, Tenant
from gateway.domain.settings import Choices, FieldError, parse_rfc3339, validate
from gateway.events import EventBus
from gateway.store.campaigns import CampaignStore
from gateway.timeutil import utcnow

log = structlog.get_logger(__name__)

BATCH_ROWS = 20000


class NotFound(Exception):
    pass


@dataclass
class ImportReport:
    rows: int = 0
    duplicates: int = 0
    duplicate_rows: list[int] = field(default_factory=list)
    dnc: int = 0  # contacts on a do-not-call list: stored failed, never dialled


class ContactImport:
    """One upload streaming into an invisible campaign.

    Each batch is written by one SQL statement, which SQLite runs in aiosqlite's thread
    without holding the GIL, while the event loop parses the next batch. A batch is
    written when it reaches BATCH_ROWS rows or BATCH_BYTES bytes of the CSV, whichever
    comes first, so wide rows are held a few MB at a time, never the whole upload: the
    batch being parsed plus the one being written (and its JSON)."""

    BATCH_BYTES = 4 * 1024 * 1024  # of CSV text: about the values' size, counted for free

    def __init__(
        self, store: CampaignStore, tenant: Tenant, choices: Choices, default_country: str
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._choices = choices
        self._csv = CsvContacts(default_country)
        self._batch: list[Row] = []
        self._batch_bytes = 0
        self._writing: asyncio.Task[None] | None = None
        self._pk: int | None = None
        self.campaign_id: str | None = None
        self.report = ImportReport()
        self.form: dict[str, str] = {}
        self.saw_file = False

    async def begin(self) -> None:
        self._pk, self.campaign_id = await self._store.begin_import(
            self._tenant.id, self._tenant.name
        )

    def field(self, name: str, value: str) -> None:
        if name in self.form:
            raise FieldError(name, "given twice")
        self.form[name] = value

    async def feed(self, data: bytes) -> None:
        self.saw_file = True
        self._batch.extend(self._csv.feed(data))
        self._batch_bytes += len(data)
        if len(self._batch) >= BATCH_ROWS or self._batch_bytes >= self.BATCH_BYTES:
            await self._flush()

    async def finish(self) -> None:
        if not self.saw_file:
            raise FieldError("contacts", "a CSV file is required in the field 'contacts'")
        self._batch.extend(self._csv.finish())
        await self._flush()
        await self._wait_writing()
        settings = validate(self.form, self._choices, utcnow())
        assert self._pk is not None
        self.report.dnc = await self._store.finish_import(
            self._pk,
            settings,
            self._csv.custom_field_names,
            self.report.duplicates,
            self._csv.zone_sets,
        )

    async def abort(self) -> None:
        if self._writing is not None:
            self._writing.cancel()
            await asyncio.gather(self._writing, return_exceptions=True)
        if self._pk is not None:
            await asyncio.shield(self._store.discard(self._pk))

    async def _flush(self) -> None:
        await self._wait_writing()
        self._batch_bytes = 0
        if self._batch:
            batch, self._batch = self._batch, []
            self._writing = asyncio.create_task(self._write(batch))

    async def _wait_writing(self) -> None:
        if self._writing is not None:
            task, self._writing = self._writing, None
            await task

    async def _write(self, batch: list[Row]) -> None:
        assert self._pk is not None
        result = await self._store.insert_contacts(self._pk, batch, len(self.report.duplicate_rows))
        self.report.rows += len(batch)
        self.report.duplicates += len(batch) - result.inserted
        self.report.duplicate_rows.extend(result.duplicate_rows)


class CampaignService:
    def __init__(
        self,
        store: CampaignStore,
        bus: EventBus,
        choices: Choices,
        default_country: str,
    ) -> None:
        self.store = store
        self.bus = bus
        self.choices = choices
        self.default_country = default_country
        self.on_status_change: Callable[[Campaign], None] = lambda campaign: None

    def new_import(self, tenant: Tenant) -> ContactImport:
        return ContactImport(self.store, tenant, self.choices, self.default_country)

    async def get(self, tenant: Tenant, campaign_id: str) -> Campaign:
        campaign = await self.store.get(tenant.id, campaign_id)
        if campaign is None:
            raise NotFound("campaign not found")
        return campaign

    async def start(self, tenant: Tenant, campaign_id: str) -> Campaign:
        def step(campaign: Campaign) -> Transition:
            scheduled = parse_rfc3339(campaign.scheduled_at) if campaign.scheduled_at else None
            return lifecycle.start(campaign.status, scheduled, utcnow())

        return await self._change(tenant, campaign_id, _within_budget(tenant, step), "start")

    async def pause(self, tenant: Tenant, campaign_id: str) -> Campaign:
        return await self._change(
            tenant, campaign_id, lambda c, _: lifecycle.pause(c.status), "pause"
        )

    async def resume(self, tenant: Tenant, campaign_id: str) -> Campaign:
        def step(campaign: Campaign) -> Transition:
            return lifecycle.resume(campaign.status)

        return await self._change(tenant, campaign_id, _within_budget(tenant, step), "resume")

    async def stop(self, tenant: Tenant, campaign_id: str) -> Campaign:
        return await self._change(
            tenant, campaign_id, lambda c, _: lifecycle.stop(c.status), "stop"
        )

    async def delete(self, tenant: Tenant, campaign_id: str) -> None:
        def check(campaign: Campaign) -> None:
            lifecycle.check_delete(campaign.status, campaign.counts.in_flight)

        campaign = await self.get(tenant, campaign_id)
        if not await self.store.delete(tenant.id, campaign_id, check):
            raise NotFound("campaign not found")
        log.info("campaign deleted", campaign_id=campaign_id)
        self.bus.publish(campaign.key)  # its watchers end their streams

    async def _change(self, tenant: Tenant, campaign_id: str, decide, command: str) -> Campaign:  # type: ignore[no-untyped-def]
        campaign, changed = await self.store.change_status(tenant.id, campaign_id, decide)
        if campaign is None:
            raise NotFound("campaign not found")
        if changed:
            log.info(command, campaign_id=campaign.id, status=campaign.status.value)
            self.bus.publish(campaign.key)
            self.on_status_change(campaign)
        return campaign


def _within_budget(
    tenant: Tenant, step: Callable[[Campaign], Transition]
) -> Callable[[Campaign, int], Transition]:
    """A command that makes the campaign run, refused over the concurrency budget."""

    def decide(campaign: Campaign, in_use: int) -> Transition:
        transition = step(campaign)
        lifecycle.check_budget(tenant.max_concurrent_calls, in_use, campaign.max_concurrent_calls)
        return transition

    return decide
