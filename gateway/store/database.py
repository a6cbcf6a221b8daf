"""One SQLite file in WAL mode: a writer connection behind a lock, a reader connection."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from gateway.store.migrations import apply_migrations

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def migrate(path: str | Path) -> list[str]:
    """Create or upgrade the schema (used at start-up and by `gateway migrate`)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        return apply_migrations(conn)
    finally:
        conn.close()


T = TypeVar("T")


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


class Database:
    """Writes go through one connection and one asyncio lock, so a transaction is never
    interleaved with another coroutine's statements; reads use their own connection and
    see the last committed state (WAL)."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self.write_observer: Callable[[float], None] | None = None  # seconds per transaction

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        await asyncio.to_thread(migrate, path)
        writer = await aiosqlite.connect(path, isolation_level=None)
        reader = await aiosqlite.connect(path, isolation_level=None)
        for conn in (writer, reader):
            conn.row_factory = sqlite3.Row
            for pragma in PRAGMAS:
                await conn.execute(pragma)
        return cls(writer, reader)

    async def close(self) -> None:
        async with self._lock:
            await self._writer.close()
        await self._reader.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (cancellation included)."""
        async with self._lock:
            started = time.perf_counter()
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await asyncio.shield(self._writer.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._writer.execute("COMMIT"))
            if self.write_observer is not None:
                self.write_observer(time.perf_counter() - started)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A whole write transaction as ONE job in the database thread: BEGIN IMMEDIATE,
        `work(conn)` on the plain sqlite3 connection, COMMIT (ROLLBACK on any error).
        One hand-over to the thread instead of one per statement, for the dialler's hot
        path. Uses aiosqlite's own job queue (Connection._execute, its internal API: the
        version range in pyproject.toml is pinned for it)."""
        async with self._lock:
            started = time.perf_counter()
            writer = self._writer
            result = await writer._execute(_in_transaction, writer._conn, work)
            if self.write_observer is not None:
                self.write_observer(time.perf_counter() - started)
            return result

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> tuple[int, int]:
        """One statement as its own transaction, one job in the database thread.
        Returns (rows changed, last inserted rowid)."""

        def work(conn: sqlite3.Connection) -> tuple[int, int]:
            cursor = conn.execute(sql, params)
            return cursor.rowcount, cursor.lastrowid or 0

        return await self.run(work)
