"""`gateway dnc ...`: the host-wide list through the real entry point, on a real database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def gateway(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"GATEWAY_DB_PATH": str(tmp_path / "g.db"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def rows(tmp_path: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(tmp_path / "g.db") as conn:
        return conn.execute(
            "SELECT phone_number, tenant_id, reason FROM dnc_numbers ORDER BY phone_number"
        ).fetchall()


def test_add_list_remove(tmp_path: Path) -> None:
    done = gateway(tmp_path, "dnc", "add", "+14155550101", "(415) 555-0100", "4155550100",
                   "--reason", "court order")  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "host list: added 2, already listed 1\n")
    assert rows(tmp_path) == [
        ("+14155550100", 0, "court order"),
        ("+14155550101", 0, "court order"),
    ]
    listed = gateway(tmp_path, "dnc", "list")
    header, first, second, footer = listed.stdout.splitlines()
    assert header.split() == ["PHONE_NUMBER", "CREATED", "REASON"]
    assert first.startswith("+14155550100 ") and first.endswith(" court order")
    assert second.startswith("+14155550101 ")
    assert footer == "2 of 2 numbers on the host list"
    removed = gateway(tmp_path, "dnc", "remove", "415.555.0100")
    assert (removed.returncode, removed.stdout) == (0, "removed +14155550100 from the host list\n")
    again = gateway(tmp_path, "dnc", "remove", "+14155550100")
    assert again.returncode == 1 and "+14155550100 is not on the host list" in again.stderr
    assert rows(tmp_path) == [("+14155550101", 0, "court order")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "+14155550100", "bogus"], "number 2: not a dialable phone number: 'bogus'"),
        (["add", "+14155550100", "--reason", "a\x1bb"], "reason: must not contain control"),
        (["add", "+14155550100", "--reason", "x" * 201], "reason: must be at most 200"),
        (["remove", "12"], "NUMBER: not a valid number"),
    ],
)
def test_bad_input_exits_1_and_adds_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = gateway(tmp_path, "dnc", *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert result.stdout == ""
    assert rows(tmp_path) == []


def test_import_a_large_file_and_page_through_it(tmp_path: Path) -> None:
    path = tmp_path / "host.csv"
    count = 25_000
    path.write_text("phone_number\n" + "".join(f"+1415{2000000 + i:07d}\n" for i in range(count)))
    done = gateway(tmp_path, "dnc", "import", str(path), "--reason", "national list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"host list: added {count}, already listed 0 ({count} numbers")
    again = gateway(tmp_path, "dnc", "import", str(path))
    assert again.stdout.startswith(f"host list: added 0, already listed {count} ")
    everything = gateway(tmp_path, "dnc", "list").stdout.splitlines()
    assert len(everything) == count + 2  # header and footer; pages of 10,000 read in turn
    assert everything[-1] == f"{count} of {count} numbers on the host list"
    some = gateway(tmp_path, "dnc", "list", "--limit", "12000", "--offset", "5000").stdout
    lines = some.splitlines()[1:-1]
    assert len(lines) == 12000
    assert lines[0].startswith("+14152005000 ") and lines[-1].startswith("+14152016999 ")
    assert all(line.endswith(" national list") for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("phone_number\n+14155550100\n\n+1415\n", "host.csv: row 4: not a valid number"),
        ("number\n+14155550100\n", "host.csv: row 1: the header has no phone_number column"),
        ("", "host.csv: the file is empty"),
        ("phone_number\n+14155550100\n\x07\n", "host.csv: row 3: control character"),
    ],
)
def test_a_bad_file_adds_nothing(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "host.csv"
    path.write_text(content)
    result = gateway(tmp_path, "dnc", "import", str(path))
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "nothing was added" in result.stderr
    assert rows(tmp_path) == []


def test_missing_file_and_usage(tmp_path: Path) -> None:
    missing = gateway(tmp_path, "dnc", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    for args in (["dnc"], ["dnc", "add"], ["dnc", "list", "--limit", "0"], ["dnc", "frob"]):
        assert gateway(tmp_path, *args).returncode == 2, args


def test_remove_an_entry_an_older_reader_listed(tmp_path: Path) -> None:
    assert gateway(tmp_path, "dnc", "list").returncode == 0  # the database, migrated
    with sqlite3.connect(tmp_path / "g.db") as conn:
        conn.execute("INSERT INTO tenants (id, name, max_concurrent_calls, max_calls_per_second,"
                     " created_at) VALUES (7, 'acme', 5, 1, 'then')")  # fmt: skip
        conn.executemany(
            "INSERT INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES ('+11551234567', ?, 'old', 'then')",
            [(0,), (7,)],  # the host's, and a tenant's (never the operator's to remove here)
        )
    removed = gateway(tmp_path, "dnc", "remove", "+1 (155) 123-4567")
    assert (removed.returncode, removed.stdout) == (0, "removed +11551234567 from the host list\n")
    assert rows(tmp_path) == [("+11551234567", 7, "old")]
    again = gateway(tmp_path, "dnc", "remove", "+11551234567")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("gateway: not on the host list: NUMBER: not a valid number")
    assert rows(tmp_path) == [("+11551234567", 7, "old")]


def test_remove_an_old_form_and_its_re_read_form(tmp_path: Path) -> None:
    """Old forms, listed before the upgrade re-read the lists (its step still pending:
    the daemon never started). `remove` runs that step first, so no form it has not read
    can list the number again after; removing an old text removes both forms. The
    contacts' step stays the daemon's: run here, before the removal, it would fail a
    contact do_not_call on the entry being removed."""
    assert gateway(tmp_path, "dnc", "list").returncode == 0
    with sqlite3.connect(tmp_path / "g.db") as conn:
        assert conn.execute("SELECT count(*) FROM upgrade_steps").fetchone() == (2,)
        conn.executemany(
            "INSERT INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, 0, 'old', 'then')",
            [("+3750152450911",), ("+375152450911",), ("+3750294911911",)],
        )
    removed = gateway(tmp_path, "dnc", "remove", "+3750152450911")
    assert (removed.returncode, removed.stdout) == (0, "removed +375152450911 from the host list\n")
    # The step ran: +3750294911911 gained its re-read form, which bars its contacts.
    assert rows(tmp_path) == [("+3750294911911", 0, "old"), ("+375294911911", 0, "old")]
    with sqlite3.connect(tmp_path / "g.db") as conn:
        assert conn.execute("SELECT name FROM upgrade_steps").fetchall() == [("renumber contacts",)]
    assert gateway(tmp_path, "dnc", "remove", "+375294911911").returncode == 0
    assert rows(tmp_path) == [("+3750294911911", 0, "old")]  # bars nobody, never re-added
    assert gateway(tmp_path, "dnc", "remove", "+3750294911911").returncode == 0
    assert rows(tmp_path) == []
