"""Writing what call events do: an answer, an end (settled as the domain decides: completed,
retried or failed, with the decision it records), an attempt never sent. Each batch is one
transaction; a change that cannot be applied is rolled back alone and set apart."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.domain import amd as amd_rules
from gateway.domain import contacts as rules
from gateway.domain.calls import CallEnded
from gateway.domain.eventlog import amd_event, opt_out_event
from gateway.domain.lifecycle import complete_if_done
from gateway.domain.model import CampaignKey, CampaignStatus
from gateway.domain.settings import format_time
from gateway.store.campaigns import apply_transition, campaign_from_row
from gateway.store.contacts import record_decision
from gateway.store.database import storage_error
from gateway.store.dnc import add_numbers
from gateway.store.eventlog import insert_contact_event


@dataclass(frozen=True)
class Answer:
    attempt_id: str
    at: float


@dataclass(frozen=True)
class End:
    attempt_id: str
    at: float
    call: CallEnded | None = None  # None: refused by Asterisk, undialable, or lost
    lost: bool = False  # ended while the gateway could not hear Asterisk
    undialable: bool = False  # the Originate could not be built or sent: final at once
    reason: str = ""
    node: str | None = None  # judged lost on this node: a no-op for an attempt on another


@dataclass(frozen=True)
class NotSent:
    """The Originate never left the gateway: the attempt is undone."""

    attempt_id: str
    at: float
    reason: str


@dataclass(frozen=True)
class OptOut:
    """The person asked during the call not to be called again."""

    attempt_id: str
    at: float


@dataclass(frozen=True)
class Amd:
    """The verdict of answering-machine detection on the answered call."""

    attempt_id: str
    at: float
    answered_by: str  # human, machine or unknown
    cause: str = ""
    seconds: float | None = None  # from the answer to the verdict, when the answer was heard


Change = Answer | End | NotSent | OptOut | Amd

OPT_OUT_REASON = "opt-out during call"


@dataclass
class Applied:
    ended: list[str] = field(default_factory=list)  # attempts whose place is free now
    campaigns: set[CampaignKey] = field(default_factory=set)  # campaigns with new events
    outcomes: list[tuple[str, str | None]] = field(default_factory=list)  # (outcome, node)
    set_apart: list[tuple[Change, str]] = field(default_factory=list)  # could not apply
    # (answered_by, seconds to the verdict) once per attempt; no verdict: ("unknown", None)
    amd: list[tuple[str, float | None]] = field(default_factory=list)


_COUNT = {s: f"n_{s}" for s in ("pending", "originated", "connected", "completed", "failed",
                                "cancelled")}  # fmt: skip
Delta = defaultdict[str, float]


def _iso(unix: float) -> str:
    return format_time(datetime.fromtimestamp(unix, UTC))


def _apply(conn: sqlite3.Connection, changes: Sequence[Change]) -> Applied:
    applied = Applied()
    deltas: defaultdict[int, Delta] = defaultdict(lambda: defaultdict(float))
    for change in changes:
        delta: Delta = defaultdict(float)
        conn.execute("SAVEPOINT change")
        try:
            row = _attempt(conn, change.attempt_id)
            if row is not None and _elsewhere(row, change):
                conn.execute("RELEASE change")
                continue  # its id was dialled again on another node: not this one's to end
            outcome = _apply_one(conn, row, change, delta) if row is not None else None
        except Exception as exc:
            if storage_error(exc) is not None:
                raise
            conn.execute("ROLLBACK TO change")
            conn.execute("RELEASE change")
            error = f"{type(exc).__name__}: {exc}"
            applied.set_apart.append((change, error))
            if isinstance(change, End | NotSent):  # the call is over all the same
                applied.ended.append(change.attempt_id)
                key = _settle_set_apart(conn, change, error, deltas)
                if key is not None:
                    applied.campaigns.add(key)
            continue
        conn.execute("RELEASE change")
        if isinstance(change, End | NotSent):
            # Its place is free, even when this replays an end already written (a place
            # held again meanwhile, by reconciliation, must not leak; a place not held is
            # released as a no-op).
            applied.ended.append(change.attempt_id)
        if row is None or outcome is None:
            continue  # unknown or already settled (a replayed event)
        for column, value in delta.items():
            deltas[row["campaign_pk"]][column] += value
        applied.campaigns.add(CampaignKey(row["tenant_id"], row["campaign_id"]))
        if isinstance(change, End):
            applied.outcomes.append((outcome, row["node"]))
        if delta.get("n_amd"):  # this change gave the attempt its answered_by
            taken = (change.answered_by, change.seconds) if isinstance(change, Amd) else None
            applied.amd.append(taken or (amd_rules.UNKNOWN, None))
    for pk, delta in deltas.items():
        sets = ", ".join(f"{column} = {column} + ?" for column in delta)
        conn.execute(f"UPDATE campaigns SET {sets} WHERE pk = ?", (*delta.values(), pk))
    for pk in deltas:
        _complete_if_done(conn, pk)
    return applied


def _elsewhere(row: Any, change: Change) -> bool:
    """A node's verdict (lost) about an attempt whose id now names a call on another node
    (an attempt undone, NotSent, and begun again elsewhere with the same id)."""
    return (
        isinstance(change, End)
        and change.node is not None
        and row["node"] is not None
        and row["node"] != change.node
    )


def _apply_one(conn: sqlite3.Connection, row: Any, change: Change, delta: Delta) -> str | None:
    """Write one change; its outcome ("" for an answer or an undone attempt), None when
    there was nothing to do (a replayed event)."""
    status = row["status"]
    if isinstance(change, OptOut):
        return _opt_out(conn, row, change)
    if isinstance(change, Amd):
        if not row["amd"] or status == "ended":  # a verdict nobody asked for, or too late
            return None
        return _amd(conn, row, change.answered_by, change.cause or None, change.at, delta)
    if status == "ended":
        return None
    if isinstance(change, NotSent):
        return _not_sent(conn, row, change, delta) if status == "originated" else None
    answered_at = row["answered_at"]
    answers = isinstance(change, Answer) or (change.call is not None and change.call.answered)
    if answers and status == "originated":
        _answer(conn, row, change.at, delta)
        status, answered_at = "connected", change.at
    if isinstance(change, End):
        return _end(conn, row, status, answered_at, change, delta)
    return ""


def _answer(conn: sqlite3.Connection, row: Any, at: float, delta: Delta) -> None:
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
    insert_contact_event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"],
                         row["phone_number"], "originated", "connected", row["number"],
                         _iso(at), node=row["node"])  # fmt: skip


def _end(
    conn: sqlite3.Connection, row: Any, status: str, answered_at: float | None, end: End,
    delta: Delta,
) -> str:  # fmt: skip
    call = end.call
    answered_by = row["answered_by"]
    if status == "connected" and row["amd"] and answered_by is None:
        # Answered, AMD on, and no verdict heard (the far end hung up before AMD() ran).
        answered_by = amd_rules.UNKNOWN
        _amd(conn, row, answered_by, None, end.at, delta, event=False)
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
        campaign_status=CampaignStatus(row["campaign_status"]),
        lost=end.lost,
        undialable=end.undialable,
        retry_on=frozenset(row["retry_on"].split(",")),
        machine_hung_up=answered_by == "machine" and not row["machine_agent_id"],
    )
    cause = call.cause if call else None
    cause_txt = call.cause_txt if call else end.reason
    sip = (call.tech_cause.rsplit(" ", 1)[-1] or None) if call and call.tech_cause else None
    outcome = settlement.outcome.value
    conn.execute(
        "UPDATE attempts SET status = 'ended', ended_at = ?, outcome = ?, hangup_cause = ?,"
        " sip_code = ?, talk_seconds = ? WHERE id = ?",
        (end.at, outcome, cause, sip, settlement.talk_seconds, row["id"]),
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
    insert_contact_event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"],
                         row["phone_number"], status, to, row["number"], _iso(end.at),
                         outcome=outcome, hangup_cause=cause, sip_code=sip,
                         reason=end.reason or None, answered_by=answered_by,
                         node=row["node"])  # fmt: skip
    if settlement.decision is not None:
        detail = settlement.detail
        if end.reason and settlement.decision == "not_retried":
            detail = f"{detail} ({end.reason})"[:500]
        record_decision(conn, row["contact_id"], _iso(end.at), settlement.decision, detail)
    return outcome


def _opt_out(conn: sqlite3.Connection, row: Any, change: OptOut) -> str | None:
    """The number joins its tenant's do-not-call list; the contact says so; an `opt_out`
    event is stored. Once only: a replayed event changes nothing. (It may come after the
    call's end: the attempt is found whatever its status.)"""
    cursor = conn.execute(
        "UPDATE contacts SET opted_out = 1 WHERE id = ? AND opted_out = 0", (row["contact_id"],)
    )
    if cursor.rowcount != 1:
        return None
    at = _iso(change.at)
    add_numbers(conn, row["tenant_id"], [row["phone_number"]], OPT_OUT_REASON, at)
    conn.execute(
        "INSERT INTO events (campaign_pk, type, data) VALUES (?, 'opt_out', ?)",
        (row["campaign_pk"], opt_out_event(row["campaign_id"], row["contact_id"],
                                            row["phone_number"], at)),
    )  # fmt: skip
    return ""


def _amd(
    conn: sqlite3.Connection, row: Any, answered_by: str, cause: str | None, at: float,
    delta: Delta, event: bool = True,
) -> str | None:  # fmt: skip
    """The attempt's and the contact's answered_by and amd_cause, once per attempt (a
    replayed verdict changes nothing), counted for machine_rate, with an `amd` event."""
    cursor = conn.execute(
        "UPDATE attempts SET answered_by = ?, amd_cause = ? WHERE id = ? AND answered_by IS NULL",
        (answered_by, cause, row["id"]),
    )
    if cursor.rowcount != 1:
        return None
    conn.execute(
        "UPDATE contacts SET answered_by = ?, amd_cause = ? WHERE id = ?",
        (answered_by, cause, row["contact_id"]),
    )
    delta["n_amd"] += 1
    if answered_by == "machine":
        delta["n_machine"] += 1
    if event:
        conn.execute(
            "INSERT INTO events (campaign_pk, type, data) VALUES (?, 'amd', ?)",
            (row["campaign_pk"], amd_event(row["campaign_id"], row["contact_id"],
                                            row["phone_number"], row["number"], answered_by,
                                            cause, _iso(at))),
        )  # fmt: skip
    return ""


def _not_sent(conn: sqlite3.Connection, row: Any, change: NotSent, delta: Delta) -> str:
    to = rules.not_sent(CampaignStatus(row["campaign_status"])).value
    conn.execute("DELETE FROM attempts WHERE id = ?", (row["id"],))
    # Its `dialled` decision is undone with it: the call never left.
    conn.execute(
        "DELETE FROM decisions WHERE id = (SELECT max(id) FROM decisions"
        " WHERE contact_id = ? AND decision = 'dialled')",
        (row["contact_id"],),
    )
    conn.execute(
        "UPDATE contacts SET status = ?, attempts = attempts - 1, updated_at = ?,"
        " node = (SELECT node FROM attempts WHERE contact_id = ? ORDER BY number DESC LIMIT 1)"
        " WHERE id = ?",
        (to, _iso(change.at), row["contact_id"], row["contact_id"]),
    )
    delta["n_originated"] -= 1
    delta[_COUNT[to]] += 1
    delta["n_attempts"] -= 1
    insert_contact_event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"],
                         row["phone_number"], "originated", to, row["number"] - 1,
                         _iso(change.at), outcome="not_sent", reason=change.reason,
                         node=row["node"])  # fmt: skip
    if to == "cancelled":
        detail = f"the campaign was stopped before the call was placed ({change.reason})"
        record_decision(conn, row["contact_id"], _iso(change.at), "cancelled", detail)
    return ""


def _settle_set_apart(
    conn: sqlite3.Connection, change: End | NotSent, error: str,
    deltas: defaultdict[int, Delta],
) -> CampaignKey | None:  # fmt: skip
    """A call's end that could not be applied still ends its attempt: the contact goes
    final as the domain decides for an attempt that cannot go on (answered: completed;
    else failed, no retry), with the error as its reason, so its campaign can complete.
    If even that fails, the attempt is left as it was (and the error is logged)."""
    conn.execute("SAVEPOINT fallback")
    try:
        row = _attempt(conn, change.attempt_id)
        if row is None or row["status"] == "ended":
            conn.execute("RELEASE fallback")
            return None
        reason = f"the call's end could not be recorded: {error}"[:300]
        status, delta = row["status"], defaultdict(float)
        # Written without _end, which may be what failed.
        settlement = rules.settle(
            answered=status == "connected", answered_at=row["answered_at"],
            ended_at=change.at, cause=None, tech_cause="", originate_reason=None,
            attempts_made=row["number"], retries_per_contact=0, retry_delay_seconds=0,
            campaign_status=CampaignStatus(row["campaign_status"]), undialable=True,
        )  # fmt: skip
        to, outcome = settlement.contact_to.value, settlement.outcome.value
        conn.execute(
            "UPDATE attempts SET status = 'ended', ended_at = ?, outcome = ? WHERE id = ?",
            (change.at, outcome, row["id"]),
        )
        conn.execute(
            "UPDATE contacts SET status = ?, last_outcome = ?, hangup_cause_txt = ?,"
            " talk_seconds = ?, updated_at = ? WHERE id = ?",
            (to, outcome, reason, settlement.talk_seconds, _iso(change.at), row["contact_id"]),
        )
        delta[_COUNT[status]] -= 1
        delta[_COUNT[to]] += 1
        insert_contact_event(conn, row["campaign_pk"], row["campaign_id"], row["contact_id"],
                             row["phone_number"], status, to, row["number"], _iso(change.at),
                             outcome=outcome, reason=reason, node=row["node"])  # fmt: skip
        if to == "failed":
            record_decision(conn, row["contact_id"], _iso(change.at), "not_retried", reason)
    except Exception:
        conn.execute("ROLLBACK TO fallback")
        conn.execute("RELEASE fallback")
        return None
    conn.execute("RELEASE fallback")
    for column, value in delta.items():
        deltas[row["campaign_pk"]][column] += value
    return CampaignKey(row["tenant_id"], row["campaign_id"])


def _complete_if_done(conn: sqlite3.Connection, pk: int) -> None:
    # Run after every batch of changes: read only what the rule needs (the whole row and
    # its JSON only when the campaign does complete).
    status, pending, in_flight = conn.execute(
        "SELECT status, n_pending, n_originated + n_connected FROM campaigns WHERE pk = ?",
        (pk,),
    ).fetchone()
    transition = complete_if_done(CampaignStatus(status), pending, in_flight)
    if transition is not None:
        campaign = campaign_from_row(
            conn.execute("SELECT * FROM campaigns WHERE pk = ?", (pk,)).fetchone()
        )
        apply_transition(conn, campaign, transition, format_time(datetime.now(UTC)))


def _attempt(conn: sqlite3.Connection, attempt_id: str) -> Any:
    return conn.execute(
        "SELECT a.id, a.status, a.contact_id, a.campaign_pk, a.number, a.answered_at,"
        " a.answered_by, a.node, k.phone_number, c.id AS campaign_id, c.tenant_id,"
        " c.status AS campaign_status, c.retries_per_contact, c.retry_delay_seconds,"
        " c.retry_on, c.amd, c.machine_agent_id"
        " FROM attempts a JOIN contacts k ON k.id = a.contact_id"
        " JOIN campaigns c ON c.pk = a.campaign_pk WHERE a.id = ?",
        (attempt_id,),
    ).fetchone()
