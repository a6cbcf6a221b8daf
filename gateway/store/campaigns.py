"""Campaigns, their imported contacts, status changes and the stored event log."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.domain.batches import Batch
from gateway.domain.contacts import format_retry_on
from gateway.domain.lifecycle import BUDGET_STATUSES, Transition
from gateway.domain.model import Campaign, CampaignStatus, ContactStatus, Counts
from gateway.domain.settings import CampaignSettings, format_time
from gateway.store.contacts import contact_json, refuse_listed
from gateway.store.database import Database
from gateway.store.eventlog import cancel_pending, insert_campaign_event
from gateway.timeutil import utcnow

Decide = Callable[[Campaign, int], Transition | None]
_BUDGET = tuple(s.value for s in BUDGET_STATUSES)
_VISIBLE = "status != 'importing'"
_MAX_DUPLICATES_LISTED = 100


@dataclass(frozen=True)
class StoredEvent:
    id: int
    type: str
    data: str  # JSON text, sent as is


@dataclass
class ImportBatch:
    inserted: int
    duplicate_rows: list[int]


def campaign_from_row(row: sqlite3.Row) -> Campaign:
    return Campaign(
        pk=row["pk"],
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        status=CampaignStatus(row["status"]),
        agent_id=row["agent_id"],
        phone_number_id=row["phone_number_id"],
        max_concurrent_calls=row["max_concurrent_calls"],
        retries_per_contact=row["retries_per_contact"],
        retry_delay_seconds=row["retry_delay_seconds"],
        max_calls_per_second=row["max_calls_per_second"],
        ring_timeout_seconds=row["ring_timeout_seconds"],
        timezone=row["timezone"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        scheduled_at=row["scheduled_at"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        created_by=row["created_by"],
        custom_field_names=json.loads(row["custom_field_names"]),
        duplicates=row["duplicates"],
        retry_on=frozenset(v for v in row["retry_on"].split(",") if v),
        zone_sets=[tuple(zones) for zones in json.loads(row["zone_sets"] or "[]")],
        dnc_at_upload=row["n_dnc"],
        counts=Counts(
            total=row["n_total"],
            pending=row["n_pending"],
            originated=row["n_originated"],
            connected=row["n_connected"],
            completed=row["n_completed"],
            failed=row["n_failed"],
            cancelled=row["n_cancelled"],
        ),
        attempts_made=row["n_attempts"],
        answered=row["n_answered"],
        talk_seconds_total=row["talk_seconds_total"],
        amd=bool(row["amd"]),
        machine_agent_id=row["machine_agent_id"],
        amd_verdicts=row["n_amd"],
        machines=row["n_machine"],
    )


class CampaignStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- import -------------------------------------------------------------------------

    async def begin_import(self, tenant_id: int, created_by: str) -> tuple[int, str]:
        """An invisible campaign row that contacts stream into; (pk, public id)."""
        public_id = str(uuid.uuid4())
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO campaigns (id, tenant_id, name, status, agent_id, phone_number_id,"
                " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
                " ring_timeout_seconds, timezone, created_at, created_by)"
                " VALUES (?, ?, '', 'importing', '', '', 1, 0, 60, 30, 'UTC', ?, ?)",
                (public_id, tenant_id, format_time(utcnow()), created_by),
            )
            return cursor.lastrowid or 0, public_id

    async def insert_contacts(self, pk: int, batch: Batch, listed: int) -> ImportBatch:
        """Insert a batch; a number already in the campaign is skipped and its row reported
        (up to `_MAX_DUPLICATES_LISTED` rows in all, counting `listed` already reported)."""
        # One statement for the whole batch: SQLite walks the JSON in C without the GIL,
        # while the event loop parses the next batch. It is its own transaction; the
        # campaign stays invisible until finish_import, and discard() undoes it.
        inserted, last_id = await self._db.execute(
            "INSERT OR IGNORE INTO contacts (campaign_pk, row_number, phone_number,"
            " custom_fields, zone_set) SELECT ?, value ->> 0, value ->> 1, value -> 2,"
            " value ->> 3"
            " FROM json_each(?)",
            (pk, batch.rows_json),
        )
        duplicates: list[int] = []
        if inserted < len(batch.row_numbers) and listed < _MAX_DUPLICATES_LISTED:
            # The statement's rows got consecutive ids ending at last_id.
            kept_rows = await self._db.fetch_all(
                "SELECT row_number FROM contacts WHERE id > ? AND id <= ?",
                (last_id - inserted, last_id),
            )
            kept = {r[0] for r in kept_rows}
            duplicates = [n for n in batch.row_numbers if n not in kept]
        return ImportBatch(inserted, duplicates)

    async def finish_import(
        self,
        pk: int,
        settings: CampaignSettings,
        custom_fields: list[str],
        duplicates: int,
        zone_sets: Sequence[Sequence[str]] = (),
    ) -> int:
        """Make the campaign visible, as a draft. A contact whose number is on its
        tenant's or the host's do-not-call list is stored failed (`do_not_call`), never to
        be dialled. Returns how many were."""
        now = format_time(utcnow())

        def work(conn: sqlite3.Connection) -> int:
            tenant_id = conn.execute(
                "SELECT tenant_id FROM campaigns WHERE pk = ?", (pk,)
            ).fetchone()[0]
            total = conn.execute(
                "SELECT count(*) FROM contacts WHERE campaign_pk = ?", (pk,)
            ).fetchone()[0]
            dnc = refuse_listed(conn, pk, tenant_id, now)
            conn.execute(
                "UPDATE campaigns SET status = 'draft', name = ?, agent_id = ?,"
                " phone_number_id = ?, max_concurrent_calls = ?, retries_per_contact = ?,"
                " retry_delay_seconds = ?, scheduled_at = ?, max_calls_per_second = ?,"
                " ring_timeout_seconds = ?, timezone = ?, window_start = ?, window_end = ?,"
                " custom_field_names = ?, duplicates = ?, n_total = ?, n_pending = ?,"
                " n_failed = ?, n_dnc = ?, retry_on = ?, zone_sets = ?, amd = ?,"
                " machine_agent_id = ? WHERE pk = ? AND status = 'importing'",
                (
                    settings.name,
                    settings.agent_id,
                    settings.phone_number_id,
                    settings.max_concurrent_calls,
                    settings.retries_per_contact,
                    settings.retry_delay_seconds,
                    settings.scheduled_at,
                    settings.max_calls_per_second,
                    settings.ring_timeout_seconds,
                    settings.timezone,
                    settings.window_start,
                    settings.window_end,
                    json.dumps(custom_fields),
                    duplicates,
                    total,
                    total - dnc,
                    dnc,
                    dnc,
                    format_retry_on(settings.retry_on),
                    json.dumps([list(zones) for zones in zone_sets]),
                    int(settings.amd),
                    settings.machine_agent_id,
                    pk,
                ),
            )
            return dnc

        return await self._db.run(work)

    async def discard(self, pk: int) -> None:
        """Remove a campaign and everything of it (a refused upload leaves nothing)."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM events WHERE campaign_pk = ?", (pk,))
            await conn.execute("DELETE FROM attempts WHERE campaign_pk = ?", (pk,))
            await conn.execute("DELETE FROM contacts WHERE campaign_pk = ?", (pk,))
            await conn.execute("DELETE FROM campaigns WHERE pk = ?", (pk,))

    async def discard_unfinished_imports(self) -> int:
        """At start-up: uploads cut off by a crash were never accepted; remove them."""
        rows = await self._db.fetch_all("SELECT pk FROM campaigns WHERE status = 'importing'")
        for row in rows:
            await self.discard(row["pk"])
        return len(rows)

    # -- reading ------------------------------------------------------------------------

    async def get(self, tenant_id: int, campaign_id: str) -> Campaign | None:
        row = await self._db.fetch_one(
            f"SELECT * FROM campaigns WHERE id = ? AND tenant_id = ? AND {_VISIBLE}",
            (campaign_id, tenant_id),
        )
        return None if row is None else campaign_from_row(row)

    async def list(self, tenant_id: int, limit: int, offset: int) -> tuple[list[Campaign], int]:
        rows = await self._db.fetch_all(
            f"SELECT * FROM campaigns WHERE tenant_id = ? AND {_VISIBLE}"
            " ORDER BY pk DESC LIMIT ? OFFSET ?",
            (tenant_id, limit, offset),
        )
        total = await self._db.fetch_value(
            f"SELECT count(*) FROM campaigns WHERE tenant_id = ? AND {_VISIBLE}", (tenant_id,)
        )
        return [campaign_from_row(r) for r in rows], total

    async def contacts(
        self, campaign: Campaign, status: ContactStatus | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        if status is None:
            where, params, total = "campaign_pk = ?", (campaign.pk,), campaign.counts.total
        else:
            where, params = "campaign_pk = ? AND status = ?", (campaign.pk, status.value)
            total = getattr(campaign.counts, status.value)
        rows = await self._db.fetch_all(
            f"SELECT * FROM contacts WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [contact_json(r, campaign) for r in rows], total

    async def contacts_after(
        self, campaign: Campaign, status: ContactStatus | None, after_id: int, limit: int,
        skip: int = 0,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Up to `limit` contacts with ids above `after_id`, in id order, the first `skip`
        of them left out: keyset pages, each contact once, for a streamed export. Walks
        the (campaign_pk, id) index whatever the filter (`+status` keeps the planner off
        the status index, whose id order is not the walk's), so each page costs its own
        rows only."""
        where, params = "campaign_pk = ? AND id > ?", [campaign.pk, after_id]
        if status is not None:
            where += " AND +status = ?"
            params.append(status.value)
        rows = await self._db.fetch_all(
            f"SELECT * FROM contacts WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
            (*params, limit, skip),
        )
        return [contact_json(r, campaign) for r in rows]

    async def events_after(self, pk: int, after: int, limit: int) -> list[StoredEvent]:
        rows = await self._db.fetch_all(
            "SELECT id, type, data FROM events WHERE campaign_pk = ? AND id > ?"
            " ORDER BY id LIMIT ?",
            (pk, after, limit),
        )
        return [StoredEvent(r[0], r[1], r[2]) for r in rows]

    async def last_event_id(self, pk: int) -> int:
        return (
            await self._db.fetch_value("SELECT max(id) FROM events WHERE campaign_pk = ?", (pk,))
            or 0
        )

    async def history_start(self, pk: int, transitions: int) -> int:
        """The event id just before the campaign's last `transitions` contact events (0:
        from the start, when it has no more than that)."""
        found = await self._db.fetch_value(
            "SELECT id FROM events WHERE campaign_pk = ? AND type = 'contact'"
            " ORDER BY id DESC LIMIT 1 OFFSET ?",
            (pk, transitions - 1),
        )
        return found - 1 if found else 0

    # -- changing -----------------------------------------------------------------------

    async def change_status(
        self, tenant_id: int, campaign_id: str, decide: Decide
    ) -> tuple[Campaign | None, bool]:
        """Read, decide and write in one transaction, so two concurrent starts cannot both
        pass the budget check. `decide(campaign, budget_in_use)` may raise to refuse.
        Returns (campaign after, changed); (None, False) when there is no such campaign."""
        now = format_time(utcnow())

        def work(conn: sqlite3.Connection) -> tuple[Campaign | None, bool]:
            row = conn.execute(
                f"SELECT * FROM campaigns WHERE id = ? AND tenant_id = ? AND {_VISIBLE}",
                (campaign_id, tenant_id),
            ).fetchone()
            if row is None:
                return None, False
            campaign = campaign_from_row(row)
            in_use = conn.execute(
                "SELECT coalesce(sum(max_concurrent_calls), 0) FROM campaigns"
                f" WHERE tenant_id = ? AND pk != ? AND status IN ({', '.join('?' * len(_BUDGET))})",
                (tenant_id, campaign.pk, *_BUDGET),
            ).fetchone()[0]
            transition = decide(campaign, in_use)
            if transition is None:
                return campaign, False
            apply_transition(conn, campaign, transition, now)
            after = conn.execute("SELECT * FROM campaigns WHERE pk = ?", (campaign.pk,))
            return campaign_from_row(after.fetchone()), True

        return await self._db.run(work)

    async def delete(
        self, tenant_id: int, campaign_id: str, check: Callable[[Campaign], None]
    ) -> bool:
        campaign = await self.get(tenant_id, campaign_id)
        if campaign is None:
            return False
        check(campaign)
        await self.discard(campaign.pk)
        return True


def apply_transition(
    conn: sqlite3.Connection, campaign: Campaign, transition: Transition, now: str
) -> None:
    """Write a campaign status change the domain decided: its event, and the cancellations
    it implies."""
    sets = ["status = ?"]
    params: list[Any] = [transition.status.value]
    if transition.set_started_at:
        sets.append("started_at = coalesce(started_at, ?)")
        params.append(now)
    if transition.set_completed_at:
        sets.append("completed_at = ?")
        params.append(now)
    if transition.cancel_pending:
        cancelled = cancel_pending(conn, campaign.pk, campaign.id, now)
        sets.append("n_cancelled = n_cancelled + ?, n_pending = n_pending - ?")
        params += [cancelled, cancelled]
    conn.execute(f"UPDATE campaigns SET {', '.join(sets)} WHERE pk = ?", (*params, campaign.pk))
    insert_campaign_event(
        conn, campaign.pk, campaign.id, campaign.status.value, transition.status.value, now
    )
