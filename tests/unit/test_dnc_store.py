"""The do-not-call store on a real SQLite file: the synchronous functions the dialler calls
inside its own transactions, the async store, and staging that leaves nothing behind."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.dnc_import import DncImport
from gateway.domain.dnc import CsvNumbers, DncInputError
from gateway.store.database import Database, migrate
from gateway.store.dnc import HOST, DncEntry, DncStore, add_numbers, listed_on

AT = "2026-12-01T10:00:00.000Z"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    migrate(tmp_path / "g.db")
    return sqlite3.connect(tmp_path / "g.db", isolation_level=None)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "g.db")
    yield database
    await database.close()


@pytest.mark.parametrize(
    ("tenant_list", "host_list", "expected"),
    [
        ([], [], None),
        (["+14155550100"], [], "tenant"),
        ([], ["+14155550100"], "host"),
        (["+14155550100"], ["+14155550100"], "tenant"),  # its own list is said first
        (["+14155550199"], ["+14155550198"], None),
    ],
)
def test_listed_on(
    conn: sqlite3.Connection, tenant_list: list[str], host_list: list[str], expected: str | None
) -> None:
    conn.execute("BEGIN")
    add_numbers(conn, 7, tenant_list, "", AT)
    add_numbers(conn, HOST, host_list, "", AT)
    add_numbers(conn, 8, ["+14155550100"], "", AT)  # another tenant's list never counts
    assert listed_on(conn, 7, "+14155550100") == expected
    conn.execute("COMMIT")


def test_add_numbers_runs_in_the_callers_transaction(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    assert add_numbers(conn, 7, ["+14155550100", "+14155550101", "+14155550100"], "r", AT) == 2
    assert add_numbers(conn, 7, ["+14155550101", "+14155550102"], "other", AT) == 1
    assert add_numbers(conn, 7, [], "r", AT) == 0
    conn.execute("ROLLBACK")
    assert listed_on(conn, 7, "+14155550100") is None
    conn.execute("BEGIN IMMEDIATE")
    assert add_numbers(conn, 7, ("+14155550100",), "opt-out during call", AT) == 1
    assert add_numbers(conn, 7, ("+14155550100",), "later", "2027-01-01T00:00:00.000Z") == 0
    conn.execute("COMMIT")
    row = conn.execute("SELECT * FROM dnc_numbers").fetchall()
    assert row == [("+14155550100", 7, "opt-out during call", AT)]  # the first reason stays


async def test_store_add_list_lookup_remove(db: Database) -> None:
    store = DncStore(db)
    assert await store.add(1, ["+14155550102", "+14155550100", "+14155550102"], "r") == (2, 1)
    assert await store.add(1, ["+14155550100", "+14155550101"], "") == (1, 1)
    await store.add(2, ["+14155550100"], "theirs")
    await store.add(HOST, ["+14155550103"], "host")
    entries, total = await store.list(1, 2, 0)
    assert total == 3 and [e.phone_number for e in entries] == ["+14155550100", "+14155550101"]
    assert (await store.list(1, 10, 2))[0][0].phone_number == "+14155550102"
    assert [e.phone_number for e in await store.after(1, "+14155550100", 5)] == [
        "+14155550101",
        "+14155550102",
    ]
    found = await store.lookup(1, "+14155550100")
    assert isinstance(found, DncEntry) and found.reason == "r"
    assert found.as_json() == {"phone_number": "+14155550100", "reason": "r",
                               "created_at": found.created_at}  # fmt: skip
    assert await store.lookup(1, "+14155550103") is None  # the host's, not the tenant's
    assert await store.remove(1, "+14155550100") is True
    assert await store.remove(1, "+14155550100") is False
    assert await store.remove(1, "+14155550103") is False
    assert (await store.lookup(2, "+14155550100")) is not None  # the other tenant's stays


async def temp_tables(db: Database) -> int:
    return await db.run(
        lambda conn: conn.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0]
    )


async def test_two_imports_at_once_stay_apart_and_leave_nothing(db: Database) -> None:
    store = DncStore(db)
    first, second = DncImport(store, 1, "US"), DncImport(store, 2, "US")
    await first.begin()
    await second.begin()
    await first.feed(b"phone_number\n+14155550100\n+14155550101\n")
    await second.feed(b"phone_number\n+14155550102\n")
    assert (await store.list(1, 10, 0))[1] == 0  # staged, not listed
    await second.feed(b"bogus")  # no final newline: finish() parses the rest
    with pytest.raises(DncInputError, match="row 3"):
        await second.finish()
    await second.abort()
    assert await first.finish("r") == (2, 0)
    assert (await store.list(1, 10, 0))[1] == 2 and (await store.list(2, 10, 0))[1] == 0
    assert await temp_tables(db) == 0


async def test_a_cancelled_import_is_dropped(db: Database) -> None:
    store = DncStore(db)
    importer = DncImport(store, 1, "US")
    await importer.begin()
    body = b"phone_number\n" + b"".join(b"+1415%07d\n" % (2000000 + i) for i in range(60_000))
    await importer.feed(body)  # one batch written or being written
    await importer.abort()
    assert (await store.list(1, 10, 0))[1] == 0
    assert await temp_tables(db) == 0


async def test_an_import_parses_off_the_event_loop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading numbers is CPU (libphonenumber's slow path: ~0.9 s of one piece for a
    64 KiB chunk on the loop, measured): each chunk and the end are parsed in a thread."""
    threads: list[int] = []
    for name in ("feed", "finish"):
        real = getattr(CsvNumbers, name)

        def spy(self: CsvNumbers, *args: Any, real: Any = real) -> Any:
            threads.append(threading.get_ident())
            return real(self, *args)

        monkeypatch.setattr(CsvNumbers, name, spy)
    importer = DncImport(DncStore(db), 1, "US")
    await importer.begin()
    await importer.feed(b"phone_number\ntel: +1 415 200 0000\n")
    await importer.feed(b"+14155550101")
    assert await importer.finish("r") == (2, 0)
    assert len(threads) == 3 and threading.get_ident() not in threads
