"""Writing the stored event log (the SSE stream's source). The JSON itself is built by
gateway.domain.eventlog, here and, through `SQL_FUNCTIONS`, inside SQLite."""

from __future__ import annotations

import sqlite3
from typing import Any

from gateway.domain.eventlog import campaign_event, contact_event

# Registered on the writer connection: SQLite builds a cancelled contact's event per row
# with the same function, so a stop of a million contacts moves no row out of the file.
SQL_FUNCTIONS = (("contact_event", 7, contact_event),)


def insert_contact_event(
    conn: sqlite3.Connection, campaign_pk: int, campaign_id: str, contact_id: int,
    phone_number: str, from_: str, to: str, attempt: int, at: str, **extra: Any,
) -> None:  # fmt: skip
    data = contact_event(campaign_id, contact_id, phone_number, from_, to, attempt, at, **extra)
    conn.execute(
        "INSERT INTO events (campaign_pk, type, data) VALUES (?, 'contact', ?)",
        (campaign_pk, data),
    )


def insert_campaign_event(
    conn: sqlite3.Connection, campaign_pk: int, campaign_id: str, from_: str, to: str, at: str
) -> None:
    conn.execute(
        "INSERT INTO events (campaign_pk, type, data) VALUES (?, 'campaign', ?)",
        (campaign_pk, campaign_event(campaign_id, from_, to, at)),
    )


def cancel_pending(conn: sqlite3.Connection, campaign_pk: int, campaign_id: str, at: str) -> int:
    """Every pending contact of the campaign → cancelled, one event each. Returns how many."""
    conn.execute(
        "INSERT INTO events (campaign_pk, type, data) SELECT ?, 'contact', contact_event("
        "?, id, phone_number, 'pending', 'cancelled', attempts, ?)"
        " FROM contacts WHERE campaign_pk = ? AND status = 'pending' ORDER BY id",
        (campaign_pk, campaign_id, at, campaign_pk),
    )
    conn.execute(
        "INSERT INTO decisions (contact_id, time, decision, detail) SELECT id, ?, 'cancelled',"
        " 'the campaign was stopped' FROM contacts WHERE campaign_pk = ? AND status = 'pending'"
        " ORDER BY id",
        (at, campaign_pk),
    )
    return conn.execute(
        "UPDATE contacts SET status = 'cancelled', updated_at = ?"
        " WHERE campaign_pk = ? AND status = 'pending'",
        (at, campaign_pk),
    ).rowcount
