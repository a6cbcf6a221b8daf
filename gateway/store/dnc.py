"""Do-not-call numbers: each tenant's list, and the host's (tenant_id 0, the operator's).

A tenant reads and changes only its own list (`tenant_id` = its id); the host list is
never shown to a tenant, but `listed_on` checks both. Numbers are E.164, already
normalised by the caller.

The plain functions on a sqlite3.Connection (`add_numbers`, `listed_on`) are for callers
inside their own transaction (the dialler, the opt-out); `DncStore` is the async side.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.domain.settings import format_time
from gateway.store.database import Database
from gateway.timeutil import utcnow

HOST = 0  # tenant_id of the host-wide list

_INSERT_JSON = (
    "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
    " SELECT value, ?, ?, ? FROM json_each(?)"
)


@dataclass(frozen=True)
class DncEntry:
    phone_number: str
    reason: str
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "phone_number": self.phone_number,
            "reason": self.reason,
            "created_at": self.created_at,
        }


def add_numbers(
    conn: sqlite3.Connection, tenant_id: int, numbers: Sequence[str], reason: str, at: str
) -> int:
    """Add E.164 numbers to a list (HOST for the host's); returns how many were new.
    A number already listed keeps its reason and time. Runs in the caller's transaction."""
    if not numbers:
        return 0
    payload = json.dumps(list(numbers))
    return conn.execute(_INSERT_JSON, (tenant_id, reason, at, payload)).rowcount


def listed_on(conn: sqlite3.Connection, tenant_id: int, number: str) -> str | None:
    """Which list bars the E.164 `number` for this tenant: "tenant" (its own list; said
    first when it is on both), "host" (the operator's), or None. Two primary-key probes."""
    row = conn.execute(
        "SELECT tenant_id FROM dnc_numbers WHERE phone_number = ? AND tenant_id IN (?, 0)"
        " ORDER BY tenant_id DESC LIMIT 1",  # measured faster than max(tenant_id)
        (number, tenant_id),
    ).fetchone()
    if row is None:
        return None
    return "host" if row[0] == HOST else "tenant"


class DncStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, tenant_id: int, numbers: Sequence[str], reason: str) -> tuple[int, int]:
        """(added, already): a number listed before, or twice in `numbers`, is `already`."""
        at = format_time(utcnow())
        added = await self._db.run(lambda conn: add_numbers(conn, tenant_id, numbers, reason, at))
        return added, len(numbers) - added

    async def remove(self, tenant_id: int, number: str, *also: str) -> bool:
        """Remove `number` (and the texts `also`) from the list; False if none was on it."""
        texts = (number, *also)
        marks = ", ".join("?" * len(texts))
        removed, _ = await self._db.execute(
            f"DELETE FROM dnc_numbers WHERE phone_number IN ({marks}) AND tenant_id = ?",
            (*texts, tenant_id),
        )
        return removed > 0

    async def list(self, tenant_id: int, limit: int, offset: int) -> tuple[list[DncEntry], int]:
        """One page of the list, by phone number, and the size of the whole list."""
        rows = await self._db.fetch_all(
            "SELECT phone_number, reason, created_at FROM dnc_numbers WHERE tenant_id = ?"
            " ORDER BY phone_number LIMIT ? OFFSET ?",
            (tenant_id, limit, offset),
        )
        total = await self._db.fetch_value(
            "SELECT count(*) FROM dnc_numbers WHERE tenant_id = ?", (tenant_id,)
        )
        return [DncEntry(*r) for r in rows], total

    async def after(self, tenant_id: int, phone_number: str, limit: int) -> list[DncEntry]:
        """The next `limit` numbers of the list after `phone_number` (paging a long list
        without OFFSET, which would walk every number before the page)."""
        rows = await self._db.fetch_all(
            "SELECT phone_number, reason, created_at FROM dnc_numbers"
            " WHERE tenant_id = ? AND phone_number > ? ORDER BY phone_number LIMIT ?",
            (tenant_id, phone_number, limit),
        )
        return [DncEntry(*r) for r in rows]

    async def lookup(self, tenant_id: int, number: str) -> DncEntry | None:
        row = await self._db.fetch_one(
            "SELECT phone_number, reason, created_at FROM dnc_numbers"
            " WHERE phone_number = ? AND tenant_id = ?",
            (number, tenant_id),
        )
        return None if row is None else DncEntry(*row)

    async def stage(self) -> DncStaging:
        """A staging table for a long import: nothing is listed until its commit()."""
        staging = DncStaging(self._db)
        await self._db.run(staging.create)
        return staging


class DncStaging:
    """Numbers of one import, in a TEMP table of the writer connection: written batch by
    batch while the upload streams, invisible to every reader and to the dialler, then
    moved into the list by one transaction, or dropped. A crash drops it with the
    connection, so a cut-off import leaves nothing."""

    _names = itertools.count(1)

    def __init__(self, db: Database) -> None:
        self._db = db
        self.table = f"temp.dnc_stage_{next(self._names)}"
        self.rows = 0  # numbers written, repeats included

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"CREATE TABLE {self.table} (phone_number TEXT NOT NULL)")

    async def write(self, numbers: Sequence[str]) -> None:
        payload = json.dumps(list(numbers))
        sql = f"INSERT INTO {self.table} SELECT value FROM json_each(?)"
        await self._db.run(lambda conn: conn.execute(sql, (payload,)))
        self.rows += len(numbers)

    async def commit(self, tenant_id: int, reason: str) -> tuple[int, int]:
        """Move every staged number into the list in one transaction: (added, already)."""
        at = format_time(utcnow())

        def work(conn: sqlite3.Connection) -> int:
            added = conn.execute(
                "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
                f" SELECT phone_number, ?, ?, ? FROM {self.table} ORDER BY phone_number",
                (tenant_id, reason, at),
            ).rowcount
            conn.execute(f"DROP TABLE {self.table}")
            return added

        added = await self._db.run(work)
        return added, self.rows - added

    async def discard(self) -> None:
        await self._db.run(lambda conn: conn.execute(f"DROP TABLE IF EXISTS {self.table}"))
