"""What the dialler reads and writes: due contacts, attempts, and the transitions that
AMI events cause. Each call to a writing method is one transaction, events included."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.domain import contacts as rules
from gateway.domain.calls import CallEnded
from gateway.domain.lifecycle import Transition, complete_if_done
from gateway.domain.model import Campaign, CampaignKey, Tenant
from gateway.domain.settings import format_time
from gateway.store.campaigns import apply_transition, campaign_from_row
from gateway.store.database import Database


@dataclass(frozen=True)
class DialTarget:
    contact_id: int
    phone_number: str
    custom_values: list[str]
    attempt_number: int


@dataclass(frozen=True)
class OpenAttempt:
    id: str
    status: str  # originated or connected
    campaign_pk: int
    tenant_id: int


@dataclass(frozen=True)
class Answer:
    attempt_id: str
    at: float


@dataclass(frozen=True)
class End:
    attempt_id: str
    at: float
    call: CallEnded | None = None  # None: refused by Asterisk, or lost (below)
    lost: bool = False
    reason: str = ""


@dataclass
class Applied:
    ended: list[str] = field(default_factory=list)  # attempt ids whose call is over
    campaigns: set[CampaignKey] = field(default_factory=set)  # campaigns with new events
    outcomes: list[str] = field(default_factory=list)


_COUNT = {s: f"n_{s}" for s in ("pending", "originated", "connected", "completed", "failed")}


def _iso(unix: float) -> str:
    return format_time(datetime.fromtimestamp(unix, UTC))


class DialStore:
    def __init__(self, db: Database) -> None:
        self._db = db

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
            "SELECT id, phone_number, custom_fields, attempts FROM contacts"
            " WHERE campaign_pk = ? AND status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (pk, now, limit),
        )
        return [DialTarget(r[0], r[1], json.loads(r[2]), r[3] + 1) for r in rows]

    async def begin_attempts(
        self, campaign: Campaign, chosen: Sequence[tuple[DialTarget, str]], now: float
    ) -> list[bool]:
        """Commit each attempt (contact pending → originated) before its Originate is sent.
        False for a contact that is no longer pending (stopped meanwhile)."""
        at = _iso(now)

        def work(conn: sqlite3.Connection) -> list[bool]:
            began: list[bool] = []
            for target, attempt_id in chosen:
                cursor = conn.execute(
                    "UPDATE contacts SET status = 'originated', attempts = attempts + 1,"
                    " updated_at = ? WHERE id = ? AND status = 'pending'",
                    (at, target.contact_id),
                )
                began.append(cursor.rowcount == 1)
                if cursor.rowcount != 1:
                    continue
                conn.execute(
                    "INSERT INTO attempts (id, contact_id, campaign_pk, number, status,"
                    " created_at) VALUES (?, ?, ?, ?, 'originated', ?)",
                    (attempt_id, target.contact_id, campaign.pk, target.attempt_number, now),
                )
                _event(conn, campaign.pk, campaign.id, target.contact_id, target.phone_number,
                       "pending", "originated", target.attempt_number, at)  # fmt: skip
            count = sum(began)
            if count:
                conn.execute(
                    "UPDATE campaigns SET n_pending = n_pending - ?,"
                    " n_originated = n_originated + ?, n_attempts = n_attempts + ?"
                    " WHERE pk = ?",
                    (count, count, count, campaign.pk),
                )
            return began

        return await self._db.run(work)

    async def not_sent(self, attempt_id: str, why: str, now: float) -> CampaignKey | None:
        """The Originate never reached Asterisk: undo the attempt, the contact is pending
        again (the event says so). Returns the campaign's key."""

        def work(conn: sqlite3.Connection) -> CampaignKey | None:
            row = _attempt(conn, attempt_id)
            if row is None or row["status"] != "originated":
                return None
            conn.execute("DELETE FROM attempts WHERE id = ?", (attempt_id,))
            conn.execute(
                "UPDATE contacts SET status = 'pending', attempts = attempts - 1,"
                " updated_at = ? WHERE id = ?",
                (_iso(now), row["contact_id"]),
            )
            conn.execute(
                "UPDATE campaigns SET n_pending = n_pending + 1, n_originated = n_originated - 1,"
                " n_attempts = n_attempts - 1 WHERE pk = ?",
                (row["campaign_pk"],),
            )
            _event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"],
                   row["phone_number"], "originated", "pending", row["number"] - 1,
                   _iso(now), outcome="not_sent", reason=why)  # fmt: skip
            return CampaignKey(row["tenant_id"], row["campaign_id"])

        return await self._db.run(work)

    async def open_attempts(self) -> list[OpenAttempt]:
        rows = await self._db.fetch_all(
            "SELECT a.id, a.status, a.campaign_pk, c.tenant_id FROM attempts a"
            " JOIN campaigns c ON c.pk = a.campaign_pk WHERE a.status != 'ended'"
        )
        return [OpenAttempt(r[0], r[1], r[2], r[3]) for r in rows]

    async def apply(self, changes: Sequence[Answer | End]) -> Applied:
        """Apply a batch of call events in one transaction (one job in the database
        thread); completes campaigns whose contacts are all final."""
        return await self._db.run(lambda conn: _apply(conn, changes))


def _apply(conn: sqlite3.Connection, changes: Sequence[Answer | End]) -> Applied:
    applied = Applied()
    deltas: defaultdict[int, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    for change in changes:
        row = _attempt(conn, change.attempt_id)
        if row is None or row["status"] == "ended":
            continue  # unknown or already settled (a replayed event)
        pk = row["campaign_pk"]
        status = row["status"]
        answered_at = row["answered_at"]
        answers = isinstance(change, Answer) or (change.call is not None and change.call.answered)
        if answers and status == "originated":
            _answer(conn, row, change.at, deltas[pk])
            status, answered_at = "connected", change.at
        if isinstance(change, End):
            outcome = _end(conn, row, status, answered_at, change, deltas[pk])
            applied.ended.append(change.attempt_id)
            applied.outcomes.append(outcome)
        applied.campaigns.add(CampaignKey(row["tenant_id"], row["campaign_id"]))
    for pk, delta in deltas.items():
        sets = ", ".join(f"{column} = {column} + ?" for column in delta)
        conn.execute(f"UPDATE campaigns SET {sets} WHERE pk = ?", (*delta.values(), pk))
    for pk in deltas:
        _complete_if_done(conn, pk)
    return applied


def _answer(conn: sqlite3.Connection, row: Any, at: float, delta: dict[str, float]) -> None:
    conn.execute(
        "UPDATE attempts SET status = 'connected', answered_at = ? WHERE id = ?", (at, row["id"])
    )
    conn.execute(
        "UPDATE contacts SET status = 'connected', updated_at = ? WHERE id = ?",
        (_iso(at), row["contact_id"]),
    )
    delta["n_originated"] -= 1
    delta["n_connected"] += 1
    delta["n_answered"] += 1
    _event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"], row["phone_number"],
           "originated", "connected", row["number"], _iso(at))  # fmt: skip


def _end(
    conn: sqlite3.Connection, row: Any, status: str, answered_at: float | None, end: End,
    delta: dict[str, float],
) -> str:  # fmt: skip
    call = end.call
    settlement = rules.settle(
        answered=status == "connected",
        answered_at=answered_at,
        ended_at=end.at,
        cause=call.cause if call else None,
        tech_cause=call.tech_cause if call else "",
        originate_reason=call.originate_reason if call else None,
        attempts_made=row["number"],
        retries_per_contact=row["retries_per_contact"],
        retry_delay_seconds=row["retry_delay_seconds"],
        lost=end.lost,
    )
    cause = call.cause if call else None
    cause_txt = call.cause_txt if call else end.reason
    sip = (call.tech_cause.rsplit(" ", 1)[-1] or None) if call and call.tech_cause else None
    outcome = settlement.outcome.value
    conn.execute(
        "UPDATE attempts SET status = 'ended', ended_at = ?, outcome = ?, hangup_cause = ?"
        " WHERE id = ?",
        (end.at, outcome, cause, row["id"]),
    )
    to = settlement.contact_to.value
    conn.execute(
        "UPDATE contacts SET status = ?, next_attempt_at = ?, last_outcome = ?,"
        " hangup_cause = ?, hangup_cause_txt = ?, sip_code = ?, talk_seconds = ?,"
        " updated_at = ? WHERE id = ?",
        (to, settlement.next_attempt_at, outcome, cause, cause_txt, sip,
         settlement.talk_seconds, _iso(end.at), row["contact_id"]),
    )  # fmt: skip
    delta[_COUNT[status]] -= 1
    delta[_COUNT[to]] += 1
    if settlement.talk_seconds:
        delta["talk_seconds_total"] += settlement.talk_seconds
    _event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"], row["phone_number"],
           status, to, row["number"], _iso(end.at), outcome=outcome, hangup_cause=cause,
           sip_code=sip, reason=end.reason or None)  # fmt: skip
    return outcome


def _complete_if_done(conn: sqlite3.Connection, pk: int) -> None:
    campaign = campaign_from_row(
        conn.execute("SELECT * FROM campaigns WHERE pk = ?", (pk,)).fetchone()
    )
    counts = campaign.counts
    transition = complete_if_done(campaign.status, counts.pending, counts.in_flight)
    if transition is not None:
        apply_transition(conn, campaign, transition, format_time(datetime.now(UTC)))


def _attempt(conn: sqlite3.Connection, attempt_id: str) -> Any:
    return conn.execute(
        "SELECT a.id, a.status, a.contact_id, a.campaign_pk, a.number, a.answered_at,"
        " k.phone_number, c.id AS campaign_id, c.tenant_id, c.retries_per_contact,"
        " c.retry_delay_seconds"
        " FROM attempts a JOIN contacts k ON k.id = a.contact_id"
        " JOIN campaigns c ON c.pk = a.campaign_pk WHERE a.id = ?",
        (attempt_id,),
    ).fetchone()


def _event(
    conn: sqlite3.Connection, pk: int, campaign_id: str, contact_id: int, phone: str,
    from_: str, to: str, attempt: int, at: str, **extra: Any,
) -> None:  # fmt: skip
    rules.check(rules.C(from_), rules.C(to))
    data = {
        "campaign_id": campaign_id,
        "contact_id": contact_id,
        "phone_number": phone,
        "from": from_,
        "to": to,
        "attempt": attempt,
        "outcome": extra.pop("outcome", None),
        "hangup_cause": extra.pop("hangup_cause", None),
        "time": at,
        **{k: v for k, v in extra.items() if v is not None},
    }
    conn.execute(
        "INSERT INTO events (campaign_pk, type, data) VALUES (?, 'contact', ?)",
        (pk, json.dumps(data)),
    )
