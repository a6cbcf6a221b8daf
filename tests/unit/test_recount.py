import sqlite3
from pathlib import Path

from gateway.store.database import migrate
from tests.recount import recount_mismatches


def test_the_recount_finds_a_stored_count_that_drifted(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    migrate(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO tenants VALUES (1, 'a', 10, 5, 'now')")
    conn.execute(
        "INSERT INTO campaigns (pk, id, tenant_id, name, status, agent_id, phone_number_id,"
        " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
        " ring_timeout_seconds, timezone, created_at, created_by, n_total, n_pending)"
        " VALUES (1, 'c1', 1, 'c', 'running', 'a', 'p', 1, 0, 60, 30, 'UTC', 'now', 'a', 2, 2)"
    )
    for i in range(2):
        conn.execute(
            "INSERT INTO contacts (campaign_pk, row_number, phone_number, custom_fields)"
            " VALUES (1, ?, ?, '[]')",
            (i + 2, f"+1415555010{i}"),
        )
    assert recount_mismatches(path) == []
    conn.execute("UPDATE contacts SET status = 'failed' WHERE row_number = 2")
    conn.execute("INSERT INTO attempts (id, contact_id, campaign_pk, number, status,"
                 " created_at, answered_at) VALUES ('x', 1, 1, 1, 'ended', 0, 1)")  # fmt: skip
    assert recount_mismatches(path) == [
        "campaign c1: n_pending is 2, a recount gives 1",
        "campaign c1: n_failed is 0, a recount gives 1",
        "campaign c1: n_attempts is 0, a recount gives 1",
        "campaign c1: n_answered is 0, a recount gives 1",
    ]
