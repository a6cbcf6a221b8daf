"""The stored counts of every campaign against a recount of its contacts and attempts.

The campaign row keeps its counts (n_pending, n_failed, n_attempts...) so that a client
never counts; every transition updates them in the same transaction. This recount, read
straight from a daemon's SQLite file, is what they must always equal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway.domain.model import CONTACT_STATUSES


def recount_mismatches(db_path: Path) -> list[str]:
    """One line per stored count that differs from its recount (none: all equal)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        found = []
        for campaign in conn.execute("SELECT * FROM campaigns WHERE status != 'importing'"):
            pk = campaign["pk"]
            by_status = dict(conn.execute(
                "SELECT status, count(*) FROM contacts WHERE campaign_pk = ? GROUP BY status",
                (pk,),
            ).fetchall())  # fmt: skip
            recount = {f"n_{s}": by_status.get(s, 0) for s in CONTACT_STATUSES}
            recount["n_total"] = sum(by_status.values())
            attempts, answered = conn.execute(
                "SELECT count(*), count(answered_at) FROM attempts WHERE campaign_pk = ?", (pk,)
            ).fetchone()
            recount |= {"n_attempts": attempts, "n_answered": answered}
            for column, value in recount.items():
                if campaign[column] != value:
                    found.append(f"campaign {campaign['id']}: {column} is {campaign[column]}, "
                                 f"a recount gives {value}")  # fmt: skip
        return found
    finally:
        conn.close()
