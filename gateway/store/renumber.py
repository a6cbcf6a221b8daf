"""One-off at start-up: numbers stored before they were read exactly as libphonenumber
reads them (issue 12) are read again, with today's reader.

The hand-written reader of earlier versions stored some numbers wrongly (`8 029 491-19-11`
in Belarus as +3750294911911, where libphonenumber reads +375294911911) and took invalid
ones. Stored numbers are E.164 with their "+", so the default country plays no part.

- Do-not-call lists: each number read again as a list reads it (any type). One that reads
  differently gains its re-read form, on the same list with the same reason and time, and
  keeps its old row: nothing leaves a list on its own. One that no longer reads stays.
- Pending contacts of campaigns not final: read again as an upload reads them (with the
  operator's `allow_premium`), after the lists, so a renumbered contact meets the re-read
  forms. One that reads differently is renumbered (its zones worked out again, unless its
  `timezone` column gives them), and then failed `do_not_call` (`skipped_dnc`) if the new
  number is listed, or cancelled if another contact of its campaign has that number (the
  same person is not dialled twice). One that no longer reads is failed `invalid_number`
  (`not_retried`, saying why). Each change is in its campaign's counts and event log.
- Contacts with a call up when the daemon stopped (originated, connected) keep their
  status, since the call goes on: one whose number reads differently is renumbered if the
  new number is no other contact's, so a retry dials it; any other is refused when its
  turn comes, as begin_attempts reads each number again before it dials.

Migration 0007 leaves a row in `upgrade_steps` for each of the two steps. A step works in
batches of CHUNK rows, one transaction each in the database thread (the event loop stays
free), committing with each batch how far it got: a kill mid-way loses nothing and the
next start resumes there. Its row is deleted when it is done; a second start does nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from gateway.domain.phone import InvalidNumber, Reading, classify, normalise
from gateway.domain.settings import format_time
from gateway.domain.zones import Zones, column_zones, zones_for
from gateway.store.contacts import record_decision
from gateway.store.database import Database
from gateway.store.dnc import listed_on
from gateway.store.eventlog import insert_contact_event
from gateway.store.settling import _complete_if_done
from gateway.timeutil import utcnow

log = structlog.get_logger(__name__)

CHUNK = 20_000
DNC_STEP, CONTACTS_STEP = "renumber dnc", "renumber contacts"
_LISTS = {"tenant": "the tenant's", "host": "the host-wide"}
_NOT_FINAL = ("draft", "scheduled", "running", "paused")
_IN_PLAY = ("pending", "originated", "connected")


@dataclass
class Renumbered:
    """What the steps did in this run (a resumed step counts only what it did since)."""

    counts: Counter[str] = field(default_factory=Counter)
    steps: int = 0  # steps that ran

    def as_log(self) -> dict[str, int]:
        keys = ("dnc_read", "dnc_added", "dnc_unreadable", "contacts_read", "renumbered",
                "failed_invalid", "failed_dnc", "cancelled_duplicate",
                "in_call_refused")  # fmt: skip
        return {key: self.counts[key] for key in keys}


async def renumber_stored_numbers(
    db: Database,
    default_region: str,
    *,
    allow_premium: bool,
    progress: Callable[[int], None] | None = None,
    quiet: bool = False,
    lists_only: bool = False,
) -> Renumbered:
    """Run what is left of the two steps; log one line with the counts if any ran (not
    when `quiet`: a CLI command's output is its own). `progress` is told the rows read so
    far after each batch (the daemon tells systemd, so that a long upgrade does not run
    into its start timeout). `lists_only`: the do-not-call step alone, the contacts'
    left to the daemon (`gateway dnc remove`, which must not fail contacts on a list
    entry it is about to remove)."""
    steps = dict(await db.fetch_all("SELECT name, position FROM upgrade_steps"))
    done = Renumbered()
    if not steps:
        return done
    started = time.perf_counter()
    if DNC_STEP in steps:
        position: Any = json.loads(steps[DNC_STEP] or '["", -1]')
        while position is not None:
            position = await db.run(
                lambda conn, at=position: _dnc_batch(conn, at, default_region, done.counts)
            )
            if progress is not None:
                progress(done.counts["dnc_read"])
        done.steps += 1
    if CONTACTS_STEP in steps and not lists_only:
        reader = _Contacts(default_region, allow_premium, done.counts)
        last = int(steps[CONTACTS_STEP] or 0)
        end = await db.fetch_value("SELECT coalesce(max(id), 0) FROM contacts")
        while True:
            finished = await db.run(lambda conn, at=last: reader.batch(conn, at, end))
            if progress is not None:
                progress(done.counts["dnc_read"] + done.counts["contacts_read"])
            if finished:
                break
            last += CHUNK
        done.steps += 1
    if not quiet:
        log.info("stored numbers read again as libphonenumber reads them (upgrade)",
                 seconds=round(time.perf_counter() - started, 2), **done.as_log())  # fmt: skip
    return done


def _step_done(conn: sqlite3.Connection, name: str, position: Any) -> None:
    """Record how far a step got, or (position None) that it is done."""
    if position is None:
        conn.execute("DELETE FROM upgrade_steps WHERE name = ?", (name,))
    else:
        conn.execute(
            "UPDATE upgrade_steps SET position = ? WHERE name = ?", (json.dumps(position), name)
        )


def _dnc_batch(
    conn: sqlite3.Connection, after: list[Any], region: str, counts: Counter[str]
) -> list[Any] | None:
    """The next CHUNK list entries after `after` ([number, tenant_id]), in key order; the
    position reached, or None when the lists are done."""
    rows = conn.execute(
        "SELECT phone_number, tenant_id, reason, created_at FROM dnc_numbers"
        " WHERE (phone_number, tenant_id) > (?, ?) ORDER BY phone_number, tenant_id LIMIT ?",
        (after[0], after[1], CHUNK),
    ).fetchall()
    added = []
    for number, tenant_id, reason, created_at in rows:
        try:
            again = normalise(number, region, any_type=True)
        except InvalidNumber:
            counts["dnc_unreadable"] += 1  # kept as it is: it still bars that text
            continue
        if again != number:
            added.append((again, tenant_id, reason, created_at))
    if added:  # a re-read form sorts anywhere: met again later, it reads as itself
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, ?, ?, ?)",
            added,
        )
        counts["dnc_added"] += conn.total_changes - before
    counts["dnc_read"] += len(rows)
    position = [rows[-1][0], rows[-1][1]] if len(rows) == CHUNK else None
    _step_done(conn, DNC_STEP, position)
    return position


class _Campaign:
    """What renumbering a campaign's contacts needs of it, read once."""

    def __init__(self, conn: sqlite3.Connection, pk: int) -> None:
        self.pk = pk
        self.id, self.tenant_id, names, zone_sets = conn.execute(
            "SELECT id, tenant_id, custom_field_names, zone_sets FROM campaigns WHERE pk = ?",
            (pk,),
        ).fetchone()
        lowered = [name.lower() for name in json.loads(names)]
        self.zone_column = lowered.index("timezone") if "timezone" in lowered else None
        self.zone_sets: list[Zones] = [tuple(z) for z in json.loads(zone_sets or "[]")]
        self.zones_changed = False
        self.delta: Counter[str] = Counter()

    def zones(self, reading: Reading, custom: str) -> Zones:
        """A contact's zones as an upload works them out: its `timezone` column's value,
        if that is a zone, else its number's."""
        if self.zone_column is not None:
            values = json.loads(custom)
            if self.zone_column < len(values):
                given = column_zones(values[self.zone_column])
                if given is not None:  # Etc/Unknown gives (): the campaign's timezone
                    return given
        return zones_for(*reading)

    def zone_set(self, zones: Zones) -> int | None:
        """The index of `zones` in the campaign's lists, added if new; None if empty."""
        if not zones:
            return None
        if zones not in self.zone_sets:
            self.zone_sets.append(zones)
            self.zones_changed = True
        return self.zone_sets.index(zones)


class _Contacts:
    def __init__(self, region: str, allow_premium: bool, counts: Counter[str]) -> None:
        self._region = region
        self._allow_premium = allow_premium
        self._counts = counts
        self._campaigns: dict[int, _Campaign] = {}

    def batch(self, conn: sqlite3.Connection, after: int, end: int) -> bool:
        """The contacts not final with ids in (after, after + CHUNK]; True once past `end`."""
        rows = conn.execute(
            "SELECT k.id, k.campaign_pk, k.phone_number, k.attempts, k.custom_fields, k.status"
            " FROM contacts k JOIN campaigns c ON c.pk = k.campaign_pk"
            f" WHERE k.id > ? AND k.id <= ? AND k.status IN {_IN_PLAY}"
            f" AND c.status IN {_NOT_FINAL} ORDER BY k.id",
            (after, after + CHUNK),
        ).fetchall()
        region, premium = self._region, self._allow_premium
        touched: dict[int, _Campaign] = {}
        at = format_time(utcnow())
        for contact_id, pk, number, attempts, custom, status in rows:
            if status != "pending":
                if self._in_call(conn, pk, contact_id, number, custom, at):
                    touched[pk] = self._campaign(conn, pk)  # its zone lists may have grown
                continue
            try:
                reading = classify(number, region, allow_premium=premium)
            except InvalidNumber as exc:
                campaign = touched[pk] = self._campaign(conn, pk)
                self._fail_invalid(conn, campaign, contact_id, number, attempts, str(exc), at)
                continue
            if reading[0] != number:
                campaign = touched[pk] = self._campaign(conn, pk)
                self._renumber(conn, campaign, contact_id, number, reading, attempts, custom, at)
        self._counts["contacts_read"] += len(rows)
        for campaign in touched.values():
            self._write_campaign(conn, campaign)
        finished = after + CHUNK >= end
        _step_done(conn, CONTACTS_STEP, None if finished else after + CHUNK)
        return finished

    def _campaign(self, conn: sqlite3.Connection, pk: int) -> _Campaign:
        campaign = self._campaigns.get(pk)
        if campaign is None:
            campaign = self._campaigns[pk] = _Campaign(conn, pk)
        return campaign

    def _in_call(
        self, conn: sqlite3.Connection, pk: int, contact_id: int, number: str, custom: str,
        at: str,
    ) -> bool:  # fmt: skip
        """A contact whose call was up when the daemon stopped: its call goes on, so its
        status stays; a retry dials the re-read number, if that is valid and no other
        contact's (True: renumbered). Any other (refused now, or a duplicate) is refused
        when its turn comes (begin_attempts reads every number again), not dialled."""
        try:
            reading = classify(number, self._region, allow_premium=self._allow_premium)
        except InvalidNumber:
            self._counts["in_call_refused"] += 1
            return False
        if reading[0] == number:
            return False
        taken = conn.execute(
            "SELECT 1 FROM contacts WHERE campaign_pk = ? AND phone_number = ?",
            (pk, reading[0]),
        ).fetchone()
        if taken:
            self._counts["in_call_refused"] += 1
            return False
        campaign = self._campaign(conn, pk)
        zone_set = campaign.zone_set(campaign.zones(reading, custom))
        conn.execute(
            "UPDATE contacts SET phone_number = ?, zone_set = ?, updated_at = ? WHERE id = ?",
            (reading[0], zone_set, at, contact_id),
        )
        self._counts["renumbered"] += 1
        return True

    def _fail_invalid(
        self, conn: sqlite3.Connection, campaign: _Campaign, contact_id: int, number: str,
        attempts: int, why: str, at: str,
    ) -> None:  # fmt: skip
        self._end(conn, campaign, contact_id, number, attempts, at, "failed", "invalid_number")
        record_decision(conn, contact_id, at, "not_retried",
                        f"its number, read again at the upgrade, is refused: {why}")  # fmt: skip
        self._counts["failed_invalid"] += 1

    def _renumber(
        self, conn: sqlite3.Connection, campaign: _Campaign, contact_id: int, number: str,
        reading: Reading, attempts: int, custom: str, at: str,
    ) -> None:  # fmt: skip
        again = reading[0]
        read = f"its number {number}, read again at the upgrade, is {again}"
        other = conn.execute(
            "SELECT id FROM contacts WHERE campaign_pk = ? AND phone_number = ?",
            (campaign.pk, again),
        ).fetchone()
        if other is None:  # else the number stays: it is another contact's
            zone_set = campaign.zone_set(campaign.zones(reading, custom))
            conn.execute(
                "UPDATE contacts SET phone_number = ?, zone_set = ?, updated_at = ? WHERE id = ?",
                (again, zone_set, at, contact_id),
            )
            number = again
        on_list = listed_on(conn, campaign.tenant_id, again)
        if on_list is not None:
            self._end(conn, campaign, contact_id, number, attempts, at, "failed", "do_not_call")
            record_decision(conn, contact_id, at, "skipped_dnc",
                            f"on {_LISTS[on_list]} do-not-call list ({read})")  # fmt: skip
            self._counts["failed_dnc"] += 1
        elif other is not None:
            self._end(conn, campaign, contact_id, number, attempts, at, "cancelled", None)
            record_decision(conn, contact_id, at, "cancelled",
                            f"{read}, contact {other[0]}'s: never dialled twice")  # fmt: skip
            self._counts["cancelled_duplicate"] += 1
        else:
            self._counts["renumbered"] += 1

    def _end(
        self, conn: sqlite3.Connection, campaign: _Campaign, contact_id: int, number: str,
        attempts: int, at: str, status: str, outcome: str | None,
    ) -> None:  # fmt: skip
        """pending → `status` (failed or cancelled), with its event and counts."""
        conn.execute(
            "UPDATE contacts SET status = ?, last_outcome = coalesce(?, last_outcome),"
            " updated_at = ? WHERE id = ?",
            (status, outcome, at, contact_id),
        )
        insert_contact_event(conn, campaign.pk, campaign.id, contact_id, number, "pending",
                             status, attempts, at, outcome=outcome)  # fmt: skip
        campaign.delta["n_pending"] -= 1
        campaign.delta[f"n_{status}"] += 1

    def _write_campaign(self, conn: sqlite3.Connection, campaign: _Campaign) -> None:
        """The batch's changes to the campaign row, in its transaction; and a campaign
        left with nothing to dial is completed, as after a call."""
        delta, campaign.delta = campaign.delta, Counter()
        if delta:
            conn.execute(
                "UPDATE campaigns SET n_pending = n_pending + ?, n_failed = n_failed + ?,"
                " n_cancelled = n_cancelled + ? WHERE pk = ?",
                (delta["n_pending"], delta["n_failed"], delta["n_cancelled"], campaign.pk),
            )
        if campaign.zones_changed:
            conn.execute(
                "UPDATE campaigns SET zone_sets = ? WHERE pk = ?",
                (json.dumps([list(z) for z in campaign.zone_sets]), campaign.pk),
            )
            campaign.zones_changed = False
        if delta:
            _complete_if_done(conn, campaign.pk)
