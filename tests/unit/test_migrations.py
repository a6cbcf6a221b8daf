import sqlite3
from pathlib import Path

from gateway.store.database import migrate
from gateway.store.migrations import migration_files


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    names = [name for _, name, _ in migration_files()]
    assert names and names == sorted(names)
    assert migrate(path) == names
    assert migrate(path) == []  # recorded: nothing to do the second time
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [int(n[:4]) for n in names]


def test_every_package_is_listed_for_the_wheel() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(root).parts) for p in (root / "gateway").rglob("__init__.py")
    }
    assert found | {"gateway.sql", "gateway.http.static"} == listed  # data, no __init__.py


def test_a_deleted_campaigns_pk_is_never_handed_out_again(tmp_path: Path) -> None:
    """A stream or the dialler holding a deleted campaign's pk must never meet another
    campaign under it: the newest campaign deleted, the next one gets a fresh pk."""
    path = tmp_path / "g.db"
    migrate(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("INSERT INTO tenants VALUES (1, 'a', 10, 5, 'now')")
    insert = (
        "INSERT INTO campaigns (id, tenant_id, name, status, agent_id, phone_number_id,"
        " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
        " ring_timeout_seconds, timezone, created_at, created_by)"
        " VALUES (?, 1, 'c', 'draft', 'a', 'p', 1, 0, 60, 30, 'UTC', 'now', 'a')"
    )
    first = conn.execute(insert, ("one",)).lastrowid
    conn.execute("INSERT INTO contacts (campaign_pk, row_number, phone_number, custom_fields)"
                 " VALUES (?, 2, '+14155550100', '[]')", (first,))  # fmt: skip
    conn.execute("DELETE FROM campaigns WHERE pk = ?", (first,))  # cascades to contacts
    second = conn.execute(insert, ("two",)).lastrowid
    assert second > first
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_the_rebuild_keeps_campaigns_and_their_references(tmp_path: Path) -> None:
    """Upgrading a database made by 0001 keeps every row and every foreign key."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    first = migration_files()[0]
    conn.executescript(first[2])
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                 " name TEXT NOT NULL, applied_at TEXT)")  # fmt: skip
    conn.execute("INSERT INTO schema_migrations VALUES (1, ?, 'then')", (first[1],))
    conn.execute("INSERT INTO tenants VALUES (1, 'a', 10, 5, 'now')")
    conn.execute(
        "INSERT INTO campaigns (pk, id, tenant_id, name, status, agent_id, phone_number_id,"
        " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
        " ring_timeout_seconds, timezone, created_at, created_by, n_total)"
        " VALUES (7, 'old', 1, 'kept', 'draft', 'a', 'p', 3, 1, 60, 30, 'UTC', 'now', 'a', 1)"
    )
    conn.execute("INSERT INTO contacts (campaign_pk, row_number, phone_number, custom_fields)"
                 " VALUES (7, 2, '+14155550100', '[]')")  # fmt: skip
    conn.close()
    assert [n for n in migrate(path)] == [n for _, n, _ in migration_files()[1:]]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name, n_total FROM campaigns WHERE pk = 7").fetchone() == (
        "kept",
        1,
    )
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("DELETE FROM campaigns WHERE pk = 7")  # still cascades to its contacts
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
