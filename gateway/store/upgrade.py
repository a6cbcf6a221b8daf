"""One-off upgrades of stored data that SQL alone cannot make, run at start-up.

Campaigns created before contacts had time zones (migration 0004 leaves their
`zone_sets` NULL) would have every contact's window evaluated in the campaign's own
timezone. Their contacts' zones are worked out once, exactly as an upload does: a
`timezone` column's value, else the number's zones.
"""

from __future__ import annotations

import json
import sqlite3

import structlog

from gateway.domain.zones import Zones, column_zones, zones_for_number
from gateway.store.database import Database

log = structlog.get_logger(__name__)

CHUNK = 10_000


def _zones(phone: str, zone_column: str | None) -> Zones:
    given = column_zones(zone_column) if zone_column else None
    return zones_for_number(phone) if given is None else given


def _backfill(conn: sqlite3.Connection, pk: int, custom_field_names: list[str]) -> int:
    lowered = [name.lower() for name in custom_field_names]
    column = lowered.index("timezone") if "timezone" in lowered else None
    zone_sets: list[Zones] = []
    index: dict[Zones, int] = {}
    last, done = 0, 0
    while True:
        rows = conn.execute(
            "SELECT id, phone_number, custom_fields FROM contacts"
            " WHERE campaign_pk = ? AND id > ? ORDER BY id LIMIT ?",
            (pk, last, CHUNK),
        ).fetchall()
        if not rows:
            break
        updates = []
        for contact_id, phone, custom in rows:
            value = json.loads(custom)[column] if column is not None else None
            zones = _zones(phone, value)
            position = None
            if zones:
                position = index.get(zones)
                if position is None:
                    position = index[zones] = len(zone_sets)
                    zone_sets.append(zones)
            updates.append((position, contact_id))
        conn.executemany("UPDATE contacts SET zone_set = ? WHERE id = ?", updates)
        last, done = rows[-1][0], done + len(rows)
    conn.execute(
        "UPDATE campaigns SET zone_sets = ? WHERE pk = ?",
        (json.dumps([list(z) for z in zone_sets]), pk),
    )
    return done


async def backfill_contact_zones(db: Database) -> int:
    """Each campaign from before contact zones gets them; returns how many campaigns."""
    campaigns = await db.fetch_all(
        "SELECT pk, id, custom_field_names FROM campaigns"
        " WHERE zone_sets IS NULL AND status != 'importing'"
    )
    for row in campaigns:
        names = json.loads(row["custom_field_names"])
        contacts = await db.run(lambda conn, pk=row["pk"], names=names: _backfill(conn, pk, names))
        log.info("contacts' time zones worked out (upgrade)", campaign_id=row["id"],
                 contacts=contacts)  # fmt: skip
    return len(campaigns)
