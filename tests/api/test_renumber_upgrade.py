"""A database written by the old hand-written number reader (before issue 12), started
with today's daemon: its stored numbers are read again once, as libphonenumber reads them.

The old reader stored `8 029 491-19-11` (Belarus) as +3750294911911, where libphonenumber
reads +375294911911, and took invalid numbers; the rows below are as it stored them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.config import Config
from gateway.daemon.app import create_app
from gateway.domain.zones import zones_for_number
from gateway.http.keys import STORE
from gateway.store.migrations import migration_files
from tests.helpers import Api
from tests.recount import recount_mismatches

THEN = "2026-11-01T10:00:00.000Z"

# (campaign, row, number as the old reader stored it, status)
CONTACTS = [
    ("run", 2, "+3750294911911", "pending"),  # → +375294911911
    ("run", 3, "+3750152450911", "pending"),  # → +375152450911, on the host list (old form)
    ("run", 4, "+11551234567", "pending"),  # no such area code: invalid
    ("run", 5, "+14155550100", "pending"),  # read as it was stored
    ("run", 6, "+447012345678", "pending"),  # a UK personal number: not by default now
    ("run", 7, "+375291234567", "pending"),  # written right ...
    ("run", 8, "+3750291234567", "pending"),  # ... and the old form of the same number
    ("run", 9, "+3750172123456", "completed"),  # final: left as it is
    ("draft", 2, "+3750331234567", "pending"),  # a draft is dialled later: renumbered
    ("done", 2, "+3750294911911", "failed"),  # a completed campaign: left as it is
    ("run", 10, "+3750294911913", "originated"),  # its call up: renumbered for a retry
    ("run", 11, "+11551234568", "connected"),  # its call up: left for the dial-time check
    ("run", 12, "+3750294911917", "connected"),  # → row 13's number: left, refused then
    ("run", 13, "+375294911917", "pending"),
    ("zoned", 2, "+3750294911915", "pending"),  # timezone Etc/Unknown: the campaign's
    ("zoned", 3, "+3750294911916", "pending"),  # timezone Europe/Paris: kept
]
ZONE_COLUMN = {("zoned", 2): "Etc/Unknown", ("zoned", 3): "Europe/Paris"}
# (tenant_id, number as stored, reason)
DNC = [
    (0, "+3750152450911", "host: old form"),
    (1, "+3750331234567", "tenant: old form"),
    (1, "+447640123456", "a pager"),  # any type is listed, and reads as itself
    (2, "+11551234567", "unreadable now"),  # stays as it is
]


def old_database(path: Path) -> None:
    """Migrations up to 0006 (before the re-reading), and rows as the old reader wrote."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    for version, name, sql in migration_files():
        if version <= 6:
            conn.executescript(f"BEGIN; {sql}; COMMIT;")
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, THEN))
    for tenant_id, name in ((1, "acme"), (2, "globex")):
        conn.execute("INSERT INTO tenants VALUES (?, ?, 10, 5, ?)", (tenant_id, name, THEN))
    campaigns = (("run", "running", []), ("draft", "draft", []),
                 ("done", "completed", []), ("zoned", "running", ["timezone"]))  # fmt: skip
    for pk, (name, status, columns) in enumerate(campaigns, 1):
        conn.execute(
            "INSERT INTO campaigns (pk, id, tenant_id, name, status, agent_id, phone_number_id,"
            " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
            " ring_timeout_seconds, timezone, created_at, created_by, custom_field_names,"
            " zone_sets) VALUES (?, ?, 1, ?, ?, 'ivr', 'main', 5, 0, 60, 30, 'UTC', ?, 'a',"
            " ?, '[[\"Europe/Minsk\"]]')",
            (pk, f"c-{name}", name, status, THEN, json.dumps(columns)),
        )
    pks = {"run": 1, "draft": 2, "done": 3, "zoned": 4}
    for campaign, row, number, status in CONTACTS:
        custom = [ZONE_COLUMN[campaign, row]] if campaign == "zoned" else []
        conn.execute(
            "INSERT INTO contacts (campaign_pk, row_number, phone_number, status,"
            " custom_fields, zone_set, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
            (pks[campaign], row, number, status, json.dumps(custom), THEN),
        )
    counts = ", ".join(
        f"n_{status} = (SELECT count(*) FROM contacts k WHERE k.campaign_pk = pk"
        f" AND k.status = '{status}')"
        for status in ("pending", "originated", "connected", "completed", "failed")
    )
    conn.execute(  # the counts as the old daemon kept them
        "UPDATE campaigns SET n_total = (SELECT count(*) FROM contacts k WHERE k.campaign_pk"
        f" = pk), {counts}"
    )
    conn.executemany(
        "INSERT INTO dnc_numbers VALUES (?, ?, ?, ?)",
        [(n, t, r, THEN) for t, n, r in DNC],
    )
    conn.close()


TABLES = ("contacts", "dnc_numbers", "decisions", "events", "campaigns", "upgrade_steps")


def snapshot(path: Path) -> dict[str, list[Any]]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in TABLES
        }
    finally:
        conn.close()


async def test_old_numbers_are_read_again_once_at_start(
    aiohttp_client: Callable[..., Any], config: Config
) -> None:
    path = Path(config.db_path)
    old_database(path)
    client = await aiohttp_client(create_app(config))
    after = snapshot(path)

    dnc = {(row[1], row[0]): (row[2], row[3]) for row in after["dnc_numbers"]}
    for tenant_id, number, reason in DNC:  # nothing left a list
        assert dnc[(tenant_id, number)] == (reason, THEN)
    assert dnc[(0, "+375152450911")] == ("host: old form", THEN)  # the re-read forms
    assert dnc[(1, "+375331234567")] == ("tenant: old form", THEN)
    assert len(dnc) == len(DNC) + 2  # the pager and the unreadable one gained nothing

    conn = sqlite3.connect(path)
    contacts = {
        (pk, row): (number, status, outcome)
        for pk, row, number, status, outcome in conn.execute(
            "SELECT campaign_pk, row_number, phone_number, status, last_outcome FROM contacts"
        )
    }
    assert contacts[(1, 2)] == ("+375294911911", "pending", None)  # renumbered
    assert contacts[(1, 3)] == ("+375152450911", "failed", "do_not_call")
    assert contacts[(1, 4)] == ("+11551234567", "failed", "invalid_number")
    assert contacts[(1, 5)] == ("+14155550100", "pending", None)
    assert contacts[(1, 6)] == ("+447012345678", "failed", "invalid_number")
    assert contacts[(1, 7)] == ("+375291234567", "pending", None)
    assert contacts[(1, 8)] == ("+3750291234567", "cancelled", None)  # row 7's number
    assert contacts[(1, 9)] == ("+3750172123456", "completed", None)  # final: untouched
    assert contacts[(2, 2)] == ("+375331234567", "failed", "do_not_call")  # tenant's list
    assert contacts[(3, 2)] == ("+3750294911911", "failed", None)  # completed campaign
    assert contacts[(1, 10)] == ("+375294911913", "originated", None)  # its call goes on
    assert contacts[(1, 11)] == ("+11551234568", "connected", None)
    assert contacts[(1, 12)] == ("+3750294911917", "connected", None)  # row 13's
    assert contacts[(1, 13)] == ("+375294911917", "pending", None)
    assert contacts[(4, 2)] == ("+375294911915", "pending", None)
    assert contacts[(4, 3)] == ("+375294911916", "pending", None)
    zoned = dict(conn.execute("SELECT row_number, zone_set FROM contacts WHERE campaign_pk = 4"))
    (zone_sets,) = conn.execute("SELECT zone_sets FROM campaigns WHERE pk = 4").fetchone()
    assert zoned[2] is None  # Etc/Unknown: the campaign's timezone
    assert json.loads(zone_sets)[zoned[3]] == ["Europe/Paris"]
    decisions = dict(
        conn.execute(
            "SELECT k.campaign_pk || ':' || k.row_number, d.decision || ': ' || d.detail"
            " FROM decisions d JOIN contacts k ON k.id = d.contact_id"
        ).fetchall()
    )
    assert decisions == {
        "1:3": "skipped_dnc: on the host-wide do-not-call list (its number +3750152450911,"
        " read again at the upgrade, is +375152450911)",
        "1:4": "not_retried: its number, read again at the upgrade, is refused: not a valid"
        " number (libphonenumber knows no such +1 number): '+11551234567'",
        "1:6": "not_retried: its number, read again at the upgrade, is refused: a personal"
        " (follow-me) number, which costs the caller more than an ordinary call (allowed"
        " only with [contacts] allow_premium = true): '+447012345678'",
        "1:8": "cancelled: its number +3750291234567, read again at the upgrade, is"
        " +375291234567, contact 6's: never dialled twice",
        "2:2": "skipped_dnc: on the tenant's do-not-call list (its number +3750331234567,"
        " read again at the upgrade, is +375331234567)",
    }
    events = [json.loads(data) for (data,) in conn.execute("SELECT data FROM events")]
    assert sorted((e["phone_number"], e["to"], e["outcome"]) for e in events) == [
        ("+11551234567", "failed", "invalid_number"),
        ("+3750291234567", "cancelled", None),
        ("+375152450911", "failed", "do_not_call"),
        ("+375331234567", "failed", "do_not_call"),
        ("+447012345678", "failed", "invalid_number"),
    ]
    (zone_set,) = conn.execute(
        "SELECT zone_set FROM contacts WHERE campaign_pk = 1 AND row_number = 2"
    ).fetchone()
    (zone_sets,) = conn.execute("SELECT zone_sets FROM campaigns WHERE pk = 1").fetchone()
    # its zones worked out again, from the new number (the fixture gave it Europe/Minsk)
    assert tuple(json.loads(zone_sets)[zone_set]) == zones_for_number("+375294911911")
    assert json.loads(zone_sets)[0] == ["Europe/Minsk"]  # the others' list is kept
    conn.close()
    assert recount_mismatches(path) == []
    assert after["upgrade_steps"] == []

    await client.close()
    again = await aiohttp_client(create_app(config))  # a second start does nothing
    await again.close()
    assert snapshot(path) == after


async def test_a_contact_renumbered_through_the_api(
    aiohttp_client: Callable[..., Any], config: Config
) -> None:
    """What a tenant sees of it: the new number, and why the others failed."""
    path = Path(config.db_path)
    old_database(path)
    client = await aiohttp_client(create_app(config))
    api = Api(client, await client.app[STORE].tenants.create_key("acme"))
    listed = await (await api.request("GET", "/campaigns/c-run/contacts?limit=100")).json()
    numbers = {c["row_number"]: (c["phone_number"], c["status"]) for c in listed["contacts"]}
    assert numbers[2] == ("+375294911911", "pending")
    assert numbers[4] == ("+11551234567", "failed")
    campaign = await (await api.request("GET", "/campaigns/c-run")).json()
    assert campaign["counts"]["pending"] == 4 and campaign["counts"]["failed"] == 3
    assert campaign["counts"]["cancelled"] == 1 and campaign["counts"]["total"] == 12
