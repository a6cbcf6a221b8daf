"""One SQLite file in WAL mode: a writer connection behind a lock, a reader connection.

Every commit is durable (synchronous=FULL): an attempt is committed before its Originate
is sent, and with NORMAL a power cut could take the committed row back and the contact
would be dialled again. Storage that cannot take a write (disk full, I/O error, locked)
raises `StorageUnavailable`, so callers can tell it from a bug and wait it out."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from gateway.store.eventlog import SQL_FUNCTIONS
from gateway.store.migrations import apply_migrations

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
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

# SQLite's primary result codes (the low byte of an extended code) that say the storage,
# not the statement, is at fault: it may work again later, unchanged.
_STORAGE_CODES = {
    5: "the database is busy",  # SQLITE_BUSY
    6: "the database is locked",  # SQLITE_LOCKED
    8: "the database is read-only",  # SQLITE_READONLY
    10: "the database file cannot be written (I/O error)",  # SQLITE_IOERR
    13: "the disk holding the database is full",  # SQLITE_FULL
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
}
SQLITE_FULL = 13


class StorageUnavailable(Exception):
    """The database cannot take a write now; nothing of the transaction was written."""

    def __init__(self, message: str, full: bool) -> None:
        super().__init__(message)
        self.full = full


def storage_error(exc: BaseException) -> StorageUnavailable | None:
    """The `StorageUnavailable` an sqlite3 error stands for, or None (a bug, bad SQL)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.OperationalError) or code is None:
        return None
    what = _STORAGE_CODES.get(code & 0xFF)
    if what is None:
        return None
    return StorageUnavailable(f"{what}: {exc}", full=code & 0xFF == SQLITE_FULL)


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        unavailable = storage_error(exc)
        if unavailable is None:
            raise
        raise unavailable from exc


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    _end_leftover(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        _end_leftover(conn)  # a failed COMMIT (disk full) leaves it open
        raise
    return result


def _end_leftover(conn: sqlite3.Connection) -> None:
    """Roll back a transaction still open (a failed COMMIT, or a ROLLBACK that failed
    before): a wedged connection would fail every later BEGIN. A ROLLBACK that fails too
    is left for the next call to try again; the error being raised says more."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


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
        for name, args, function in SQL_FUNCTIONS:
            await writer.create_function(name, args, function, deterministic=True)
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
            with _storage_errors():
                if self._writer.in_transaction:
                    await self._writer._execute(_end_leftover, self._writer._conn)
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                    await asyncio.shield(self._writer.execute("COMMIT"))
                except BaseException:
                    if self._writer.in_transaction:
                        await asyncio.shield(self._writer.execute("ROLLBACK"))
                    raise
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
            with _storage_errors():
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
