"""Numbered schema migrations (sql/NNNN_name.sql), applied in order, recorded in a table."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration, in order."""
    try:
        folder = resources.files("gateway.sql")
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir()]
    except ModuleNotFoundError:  # running from a source checkout: sql/ beside gateway/
        folder_path = Path(__file__).resolve().parents[2] / "sql"
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in folder_path.iterdir()]
    found = []
    for name, sql in entries:
        match = _NAME.match(name)
        if match:
            found.append((int(match.group(1)), name, sql))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {[n for _, n, _ in found]}")
    return found


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply what is missing, each file in its own transaction. Returns the names applied.

    Foreign keys are off while a migration runs (SQLite's documented way to rebuild a
    table that others reference; the pragma cannot change inside a transaction) and are
    checked before it commits: a migration that breaks a reference is rolled back."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    for version, name, sql in migration_files():
        if version in done:
            continue
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"{name} breaks foreign keys: {broken[:5]}")
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about quotes)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current)
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current)
    return statements
