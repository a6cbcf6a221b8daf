"""What the dialler reads and writes: due contacts, attempts, and the transitions that
AMI events cause. Each call to a writing method is one transaction, events included.
Every decision (retry, fail, cancel, complete) is the domain's; this module writes it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.domain.lifecycle import Transition
from gateway.domain.model import Campaign, CampaignKey, CampaignStatus, Tenant
from gateway.domain.phone import dial_refusal
from gateway.domain.settings import format_time
from gateway.store.campaigns import apply_transition, campaign_from_row
from gateway.store.contacts import record_decision
from gateway.store.database import Database
from gateway.store.dnc import listed_on
from gateway.store.eventlog import insert_contact_event
from gateway.store.settling import (
    Amd,
    Answer,
    Applied,
    Change,
    End,
    NotSent,
    OptOut,
    _apply,
    _iso,
)

__all__ = ["Amd", "Answer", "Applied", "Change", "DialStore", "DialTarget", "End", "NotSent",
           "OptOut", "Pick"]  # fmt: skip


_LISTS = {"tenant": "the tenant's", "host": "the host-wide"}


def _refuse(
    conn: sqlite3.Connection, campaign: Campaign, target: DialTarget, outcome: str,
    decision: str, detail: str, at: str,
) -> int:  # fmt: skip
    """A contact refused when its turn came (its number listed, or no longer read as
    itself): failed with `outcome`, never dialled."""
    cursor = conn.execute(
        "UPDATE contacts SET status = 'failed', last_outcome = ?, updated_at = ?"
        " WHERE id = ? AND status = 'pending'",
        (outcome, at, target.contact_id),
    )
    if cursor.rowcount != 1:
        return 0
    insert_contact_event(conn, campaign.pk, campaign.id, target.contact_id,
                         target.phone_number, "pending", "failed", target.attempt_number - 1,
                         at, outcome=outcome)  # fmt: skip
    record_decision(conn, target.contact_id, at, decision, detail)
    return 1


@dataclass(frozen=True)
class DialTarget:
    contact_id: int
    phone_number: str
    custom_values: list[str]
    attempt_number: int
    zone_set: int | None = None  # index into the campaign's zone_sets; None: its timezone


@dataclass(frozen=True)
class Pick:
    """An attempt the dispatcher chose, with the detail of its `dialled` decision."""

    target: DialTarget
    attempt_id: str
    detail: str = ""
    node: str | None = None  # the Asterisk node it goes to
    login: int = 0  # that node's login it was picked under (sent only during it)


@dataclass(frozen=True)
class OpenAttempt:
    id: str
    status: str  # originated or connected
    campaign: CampaignKey
    node: str | None = None  # None: stored before nodes existed


class DialStore:
    def __init__(self, db: Database, *, allow_premium: bool) -> None:
        self._db = db
        self._allow_premium = allow_premium  # [contacts] allow_premium, read at each dial

    async def running(self) -> list[tuple[Campaign, Tenant]]:
        rows = await self._db.fetch_all(
            "SELECT c.*, t.name AS t_name, t.max_concurrent_calls AS t_calls,"
            " t.max_calls_per_second AS t_cps FROM campaigns c"
            " JOIN tenants t ON t.id = c.tenant_id WHERE c.status = 'running' ORDER BY c.pk"
        )
        return [
            (campaign_from_row(r), Tenant(r["tenant_id"], r["t_name"], r["t_calls"], r["t_cps"]))
            for r in rows
        ]

    async def due_scheduled(self, now: datetime) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT pk FROM campaigns WHERE status = 'scheduled' AND scheduled_at <= ?",
            (format_time(now),),
        )
        return [r[0] for r in rows]

    async def transition(
        self, pk: int, decide: Callable[[Campaign], Transition | None]
    ) -> Campaign | None:
        """A status change the dialler decides (scheduled → running, → completed)."""

        def work(conn: sqlite3.Connection) -> Campaign | None:
            row = conn.execute("SELECT * FROM campaigns WHERE pk = ?", (pk,)).fetchone()
            if row is None:
                return None
            campaign = campaign_from_row(row)
            transition = decide(campaign)
            if transition is None:
                return None
            apply_transition(conn, campaign, transition, format_time(datetime.now(UTC)))
            return campaign

        return await self._db.run(work)

    async def due_contacts(self, pk: int, now: float, limit: int) -> list[DialTarget]:
        rows = await self._db.fetch_all(
            "SELECT id, phone_number, custom_fields, attempts, zone_set FROM contacts"
            " WHERE campaign_pk = ? AND status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (pk, now, limit),
        )
        return [DialTarget(r[0], r[1], json.loads(r[2]), r[3] + 1, r[4]) for r in rows]

    async def begin_attempts(
        self, campaign: Campaign, chosen: Sequence[Pick], now: float
    ) -> list[bool]:
        """Commit each attempt (contact pending → originated) before its Originate is sent,
        with its `dialled` decision. False for a contact that is no longer pending, for
        one whose number is now on a do-not-call list (it fails, `do_not_call`, never
        dialled) or no longer reads as itself (it fails, `invalid_number`), and for all
        of them when the campaign no longer runs (paused or stopped since it was read).
        The list is read in this transaction: a number listed before it is never
        dialled."""
        at = _iso(now)

        def work(conn: sqlite3.Connection) -> list[bool]:
            status = conn.execute(
                "SELECT status FROM campaigns WHERE pk = ?", (campaign.pk,)
            ).fetchone()
            if status is None or status[0] != CampaignStatus.RUNNING.value:
                return [False] * len(chosen)
            began: list[bool] = []
            refused = 0
            for pick in chosen:
                target, attempt_id = pick.target, pick.attempt_id
                why = dial_refusal(target.phone_number, allow_premium=self._allow_premium)
                if why is not None:
                    refused += _refuse(conn, campaign, target, "invalid_number",
                                       "not_retried", why, at)  # fmt: skip
                    began.append(False)
                    continue
                on_list = listed_on(conn, campaign.tenant_id, target.phone_number)
                if on_list is not None:
                    detail = f"on {_LISTS[on_list]} do-not-call list when its turn came"
                    refused += _refuse(conn, campaign, target, "do_not_call", "skipped_dnc",
                                       detail, at)  # fmt: skip
                    began.append(False)
                    continue
                cursor = conn.execute(
                    "UPDATE contacts SET status = 'originated', attempts = attempts + 1,"
                    " answered_by = NULL, amd_cause = NULL,"  # this attempt's, once known
                    " node = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                    (pick.node, at, target.contact_id),
                )
                began.append(cursor.rowcount == 1)
                if cursor.rowcount != 1:
                    continue
                conn.execute(
                    "INSERT INTO attempts (id, contact_id, campaign_pk, number, status,"
                    " created_at, node) VALUES (?, ?, ?, ?, 'originated', ?, ?)",
                    (attempt_id, target.contact_id, campaign.pk, target.attempt_number, now,
                     pick.node),
                )  # fmt: skip
                insert_contact_event(conn, campaign.pk, campaign.id, target.contact_id,
                                     target.phone_number, "pending", "originated",
                                     target.attempt_number, at, node=pick.node)  # fmt: skip
                record_decision(conn, target.contact_id, at, "dialled", pick.detail)
            count = sum(began)
            if count or refused:
                conn.execute(
                    "UPDATE campaigns SET n_pending = n_pending - ?,"
                    " n_originated = n_originated + ?, n_attempts = n_attempts + ?,"
                    " n_failed = n_failed + ? WHERE pk = ?",
                    (count + refused, count, count, refused, campaign.pk),
                )
            return began

        return await self._db.run(work)

    async def defer_window(
        self, pk: int, zone_set: int | None, until: float, detail: str, now: float
    ) -> int:
        """The contacts of this zone list due now wait for their window: next_attempt_at
        is when it opens, with one `deferred_window` decision each (a contact deferred
        once is not due again before then). An index range: cheap whatever the campaign's
        size. Returns how many."""
        at = _iso(now)
        where = "campaign_pk = ? AND status = 'pending' AND zone_set IS ? AND next_attempt_at <= ?"

        def work(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT INTO decisions (contact_id, time, decision, detail)"
                f" SELECT id, ?, 'deferred_window', ? FROM contacts WHERE {where} ORDER BY id",
                (at, detail, pk, zone_set, now),
            )
            return conn.execute(
                f"UPDATE contacts SET next_attempt_at = ? WHERE {where}",
                (until, pk, zone_set, now),
            ).rowcount

        return await self._db.run(work)

    async def pending_by_zone(self, pk: int) -> dict[int | None, int]:
        rows = await self._db.fetch_all(
            "SELECT zone_set, count(*) FROM contacts WHERE campaign_pk = ? AND status = 'pending'"
            " GROUP BY zone_set",
            (pk,),
        )
        return {r[0]: r[1] for r in rows}

    async def open_attempts(
        self, node: str | None = None, with_unassigned: bool = False, adopted: str = ""
    ) -> list[OpenAttempt]:
        """The attempts not ended: all of them, or those sent to `node` (and, with
        `with_unassigned`, those stored before nodes existed and those of node `adopted`,
        a node no longer configured that `node` stands for)."""
        sql = (
            "SELECT a.id, a.status, c.tenant_id, c.id, a.node FROM attempts a"
            " JOIN campaigns c ON c.pk = a.campaign_pk WHERE a.status != 'ended'"
        )
        args: tuple[str, ...] = ()
        if node is not None:
            sql += " AND (a.node = ? OR ? AND (a.node IS NULL OR a.node = ?))"
            args = (node, with_unassigned, adopted)  # type: ignore[assignment]
        rows = await self._db.fetch_all(sql, args)
        return [OpenAttempt(r[0], r[1], CampaignKey(r[2], r[3]), r[4]) for r in rows]

    async def apply(self, changes: Sequence[Change]) -> Applied:
        """Apply a batch of call events in one transaction (one job in the database
        thread); completes campaigns whose contacts are all final. A change that cannot be
        applied is rolled back alone and set apart; a storage error fails the whole batch
        (`StorageUnavailable`), nothing written, to be tried again."""
        return await self._db.run(lambda conn: _apply(conn, changes))
