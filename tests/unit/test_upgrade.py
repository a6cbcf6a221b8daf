"""A database from before contact zones (migrations up to 0003), upgraded: migration 0004,
then the start-up backfill works out each contact's zones as an upload would."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gateway.store.database import Database
from gateway.store.migrations import apply_migrations, migration_files
from gateway.store.upgrade import backfill_contact_zones


def old_database(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    for version, name, sql in migration_files():
        if version <= 3:
            conn.executescript(f"BEGIN; {sql}; COMMIT;")
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (version, name))
    conn.execute("INSERT INTO tenants VALUES (1, 'a', 10, 5, 'then')")
    conn.execute(
        "INSERT INTO campaigns (pk, id, tenant_id, name, status, agent_id, phone_number_id,"
        " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
        " ring_timeout_seconds, timezone, created_at, created_by, custom_field_names)"
        " VALUES (1, 'c1', 1, 'old', 'running', 'ivr', 'main', 5, 0, 60, 30,"
        " 'America/New_York', 'then', 'a', ?)",
        (json.dumps(["name", "TimeZone"]),),
    )
    contacts = [
        ("+14155550100", ["Ann", ""]),  # California: the number's zone, not New York's
        ("+14155550101", ["Bob", "Europe/Paris"]),  # its own column
        ("+12085550100", ["Cy", "Not/AZone"]),  # stored before the check: the number's
        ("+800", ["Di", ""]),  # nothing known: the campaign's zone (NULL)
        ("+14155550102", ["Ed", "Etc/Unknown"]),  # said unknown: the campaign's (NULL)
    ]
    for i, (phone, values) in enumerate(contacts):
        conn.execute(
            "INSERT INTO contacts (campaign_pk, row_number, phone_number, custom_fields)"
            " VALUES (1, ?, ?, ?)",
            (i + 2, phone, json.dumps(values)),
        )
    conn.close()


async def test_contacts_of_an_old_campaign_get_their_zones_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_database(path)
    conn = sqlite3.connect(path, isolation_level=None)
    assert [n for n in apply_migrations(conn) if n.startswith("0004")]
    conn.close()
    db = await Database.open(str(path))
    try:
        assert await backfill_contact_zones(db) == 1
        assert await backfill_contact_zones(db) == 0  # once
        zone_sets = json.loads(await db.fetch_value("SELECT zone_sets FROM campaigns"))
        rows = await db.fetch_all("SELECT phone_number, zone_set FROM contacts ORDER BY id")
        found = {r[0]: (zone_sets[r[1]] if r[1] is not None else None) for r in rows}
    finally:
        await db.close()
    assert found == {
        "+14155550100": ["America/Los_Angeles"],
        "+14155550101": ["Europe/Paris"],
        "+12085550100": ["America/Boise", "America/Los_Angeles"],
        "+800": None,
        "+14155550102": None,
    }
