"""A campaign's contacts as the API shows them, their attempts and the trail of every dial
decision; and the writes of that trail, made inside the dialler's own transactions."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from gateway.domain.model import Campaign
from gateway.domain.settings import format_time
from gateway.store.database import Database

DECISIONS_SHOWN = 1000  # the newest of a contact's decisions (a long-waiting one has many)


def contact_json(row: sqlite3.Row, campaign: Campaign) -> dict[str, Any]:
    values = json.loads(row["custom_fields"])
    zone_set = row["zone_set"]
    if zone_set is not None and zone_set < len(campaign.zone_sets):
        zones = list(campaign.zone_sets[zone_set])
    else:
        zones = [campaign.timezone]
    return {
        "id": row["id"],
        "campaign_id": campaign.id,
        "phone_number": row["phone_number"],
        "status": row["status"],
        "custom_fields": dict(zip(campaign.custom_field_names, values, strict=False)),
        "attempts": row["attempts"],
        "last_outcome": row["last_outcome"],
        "hangup_cause": row["hangup_cause"],
        "hangup_cause_text": row["hangup_cause_txt"],
        "sip_code": row["sip_code"],
        "talk_seconds": row["talk_seconds"],
        "next_attempt_at": format_time_unix(row["next_attempt_at"]),
        "timezones": zones,
        "opted_out": bool(row["opted_out"]),
        "answered_by": row["answered_by"],
        "amd_cause": row["amd_cause"],
        "node": row["node"],  # the Asterisk node of its latest attempt
        "row_number": row["row_number"],
        "created_at": campaign.created_at,  # contacts are created by the campaign's upload
        "updated_at": row["updated_at"],
    }


def format_time_unix(value: float | None) -> str | None:
    return format_time(datetime.fromtimestamp(value, UTC)) if value else None


class ContactStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def detail(self, campaign: Campaign, contact_id: int) -> dict[str, Any] | None:
        """The contact with its attempts and decisions; None unless it is the campaign's."""
        row = await self._db.fetch_one(
            "SELECT * FROM contacts WHERE id = ? AND campaign_pk = ?", (contact_id, campaign.pk)
        )
        if row is None:
            return None
        body = contact_json(row, campaign)
        attempts = await self._db.fetch_all(
            "SELECT number, created_at, ended_at, outcome, hangup_cause, sip_code,"
            " talk_seconds, node, answered_by, amd_cause FROM attempts"
            " WHERE contact_id = ? ORDER BY number",
            (contact_id,),
        )
        decisions = await self._db.fetch_all(
            "SELECT time, decision, detail FROM (SELECT id, time, decision, detail"
            " FROM decisions WHERE contact_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id",
            (contact_id, DECISIONS_SHOWN),
        )
        body["attempts_made"] = body.pop("attempts")
        body["attempts"] = [
            {
                "number": a["number"],
                "started_at": format_time_unix(a["created_at"]),
                "ended_at": format_time_unix(a["ended_at"]),
                "outcome": a["outcome"],
                "hangup_cause": a["hangup_cause"],
                "sip_code": a["sip_code"],
                "talk_seconds": a["talk_seconds"],
                "node": a["node"],
                "answered_by": a["answered_by"],
                "amd_cause": a["amd_cause"],
            }
            for a in attempts
        ]
        body["decisions"] = [
            {"time": d["time"], "decision": d["decision"], "detail": d["detail"]} for d in decisions
        ]
        return body


# -- writes, inside the caller's transaction ----------------------------------------------


def record_decision(
    conn: sqlite3.Connection, contact_id: int, at: str, decision: str, detail: str
) -> None:
    conn.execute(
        "INSERT INTO decisions (contact_id, time, decision, detail) VALUES (?, ?, ?, ?)",
        (contact_id, at, decision, detail),
    )


_LISTED_DETAIL = (
    "CASE WHEN EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.phone_number = contacts.phone_number"
    " AND d.tenant_id = ?) THEN 'on the tenant''s do-not-call list'"
    " ELSE 'on the host-wide do-not-call list' END"
)


def refuse_listed(conn: sqlite3.Connection, pk: int, tenant_id: int, at: str) -> int:
    """At upload: every contact whose number is on the tenant's or the host's do-not-call
    list → failed, `do_not_call`, with its decision. Returns how many."""
    any_listed = conn.execute(
        "SELECT 1 FROM dnc_numbers WHERE tenant_id IN (0, ?) LIMIT 1", (tenant_id,)
    ).fetchone()
    if any_listed is None:
        return 0
    refused = conn.execute(
        "UPDATE contacts SET status = 'failed', last_outcome = 'do_not_call', updated_at = ?"
        " WHERE campaign_pk = ? AND phone_number IN"
        " (SELECT phone_number FROM dnc_numbers WHERE tenant_id IN (0, ?))",
        (at, pk, tenant_id),
    ).rowcount
    if refused:
        conn.execute(
            "INSERT INTO decisions (contact_id, time, decision, detail)"
            f" SELECT id, ?, 'skipped_dnc', {_LISTED_DETAIL} || ' at upload' FROM contacts"
            " WHERE campaign_pk = ? AND last_outcome = 'do_not_call' ORDER BY id",
            (at, tenant_id, pk),
        )
    return refused
