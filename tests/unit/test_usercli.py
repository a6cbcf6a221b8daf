"""`gateway campaigns ...` against a real `gateway serve` subprocess: parsing, human and --json
output, exit codes, and never printing the API key."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.cli import build_parser, main
from gateway.cli import campaigns as cli_campaigns
from gateway.cli.campaigns import Progress, _watch
from gateway.client import Client, Event
from tests.daemon_fixture import CSV, Daemon, clean_env, daemon, free_port, own_daemon

assert daemon and own_daemon  # fixtures, used by name


@pytest.fixture
def env(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    for name in ("GATEWAY_URL", "GATEWAY_API_KEY", "GATEWAY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GATEWAY_URL", daemon.url)
    monkeypatch.setenv("GATEWAY_API_KEY", daemon.key)
    return daemon


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(CSV)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["campaigns", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_parsing() -> None:
    args = build_parser().parse_args(
        ["campaigns", "create", "a.csv", "--name", "N", "--max-concurrent-calls", "7",
         "--max-calls-per-second", "2.5", "--scheduled-at", "2030-01-01T09:00:00Z",
         "--calling-window-start", "09:00", "--json", "--url", "http://h:1"]
    )  # fmt: skip
    assert (args.file, args.name, args.max_concurrent_calls) == ("a.csv", "N", 7)
    assert (args.max_calls_per_second, args.scheduled_at) == (2.5, "2030-01-01T09:00:00Z")
    assert (args.retries_per_contact, args.retry_delay_seconds) == (0, 300)  # the reference's
    assert args.json and args.url == "http://h:1" and callable(args.handler)
    contacts = build_parser().parse_args(["campaigns", "contacts", "X", "--status", "failed"])
    assert (contacts.id, contacts.status, contacts.limit) == ("X", "failed", None)


@pytest.mark.parametrize(
    "argv",
    [
        ["campaigns"],
        ["campaigns", "frobnicate"],
        ["campaigns", "show"],
        ["campaigns", "create", "a.csv"],  # --name is required
        ["campaigns", "contacts", "X", "--status", "ringing"],
        ["campaigns", "list", "--limit", "many"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_create_list_show_human(
    env: Daemon, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "create", str(csv_file), "--name", "Spring", "--agent-id",
                         "queue", "--retries-per-contact", "1",
                         "--retry-delay-seconds", "90")  # fmt: skip
    assert code == 0, err
    assert out.startswith("created campaign ") and "(Spring): 3 contacts; status draft" in out
    cid = out.split()[2]
    code, out, _ = run(capsys, "list")
    header, *rows, footer = out.splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "DONE", "CREATED"]
    assert any(row.split()[:4] == [cid, "Spring", "draft", "0/3"] for row in rows)
    assert footer.endswith(" campaigns")
    code, out, _ = run(capsys, "show", cid)
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["agent_id"].strip() == "queue" and lines["retry_delay_seconds"].strip() == "90"
    assert lines["contacts"].strip() == (
        "3 (3 pending, 0 originated, 0 connected, 0 completed, 0 failed, 0 cancelled)"
    )
    assert env.key not in out


def test_json_output_for_scripts(
    env: Daemon, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_json(capsys, "create", str(csv_file), "--name", "J", "--timezone", "Europe/Oslo")
    cid = created["id"]
    assert created["timezone"] == "Europe/Oslo" and created["import"]["contacts"] == 3
    assert run_json(capsys, "show", cid) == {k: v for k, v in created.items() if k != "import"}
    listed = run_json(capsys, "list", "--limit", "1000")
    assert cid in [c["id"] for c in listed["campaigns"]] and listed["total"] >= 1
    assert run_json(capsys, "start", cid)["status"] == "running"
    assert run_json(capsys, "pause", cid)["status"] == "paused"
    assert run_json(capsys, "resume", cid)["status"] == "running"
    assert run_json(capsys, "stop", cid)["counts"]["cancelled"] == 3
    contacts = run_json(capsys, "contacts", cid, "--status", "cancelled", "--limit", "2")
    assert contacts["total"] == 3 and len(contacts["contacts"]) == 2
    assert run_json(capsys, "contacts", cid, "--offset", "2")["contacts"][0]["id"] == (
        contacts["contacts"][-1]["id"] + 1
    )
    events = [json.loads(line) for line in run(capsys, "watch", cid, "--last-event-id", "0",
                                                "--json")[1].splitlines()]  # fmt: skip
    assert [e["event"] for e in events if e["id"] is not None] == [
        "campaign", "campaign", "campaign", "contact", "contact", "contact", "campaign"
    ]  # fmt: skip
    assert events[-1] == {"id": None, "event": "end", "data": {"campaign_id": cid,
                                                                "status": "stopped"}}  # fmt: skip
    assert run_json(capsys, "delete", cid) == {"id": cid, "deleted": True}


def test_start_stop_contacts_human(
    env: Daemon, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = run_json(capsys, "create", str(csv_file), "--name", "H")["id"]
    assert run(capsys, "start", cid)[:2] == (0, f"campaign {cid}: running\n")
    assert run(capsys, "stop", cid)[:2] == (0, f"campaign {cid}: stopped\n")
    _, out, _ = run(capsys, "contacts", cid, "--limit", "2")
    header, *rows, footer = out.splitlines()
    assert header.split() == ["ID", "PHONE", "STATUS", "ATTEMPTS", "OUTCOME", "UPDATED"]
    assert [row.split()[1:4] for row in rows] == [["+14155550100", "cancelled", "0"],
                                                   ["+14155550101", "cancelled", "0"]]  # fmt: skip
    assert footer == "2 of 3 contacts"
    assert run(capsys, "delete", cid)[:2] == (0, f"deleted campaign {cid}\n")


def test_api_errors_exit_1_with_the_message(
    env: Daemon, csv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "show", "nope") == (1, "", "gateway: 404 campaign not found\n")
    cid = run_json(capsys, "create", str(csv_file), "--name", "E")["id"]
    code, _, err = run(capsys, "pause", cid)
    assert code == 1 and err.startswith("gateway: 409 cannot pause a campaign that is draft")
    bad = tmp_path / "bad.csv"
    bad.write_text("phone_number\n+14155550100\nnot-a-number\n")
    code, out, err = run(capsys, "create", str(bad), "--name", "B", "--json")
    assert (code, out) == (1, "") and err.startswith("gateway: 400 contacts: row 3")
    code, _, err = run(capsys, "create", str(csv_file), "--name", "B", "--max-concurrent-calls",
                       "500")  # fmt: skip
    assert code == 1 and "max_concurrent_calls: must be an integer from 1 to 100" in err
    assert run(capsys, "list", "--url", f"http://127.0.0.1:{free_port()}")[0] == 1


def test_missing_key_or_file_is_a_usage_error(
    env: Daemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "create", "/no/such.csv", "--name", "X")
    assert code == 2 and "cannot read /no/such.csv" in err
    monkeypatch.delenv("GATEWAY_API_KEY")
    code, _, err = run(capsys, "list")
    assert code == 2 and "GATEWAY_API_KEY" in err
    assert run(capsys, "list", "--api-key", env.key)[0] == 0  # the option works too
    code, out, err = run(capsys, "list", "--api-key", "gw_wrong-key")
    assert code == 1 and "401" in err and "gw_wrong-key" not in out + err


def test_watch_human_on_a_pipe(
    env: Daemon, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = run_json(capsys, "create", str(csv_file), "--name", "W")["id"]
    run_json(capsys, "start", cid)
    run_json(capsys, "stop", cid)
    code, out, err = run(capsys, "watch", cid, "--last-event-id", "0")
    assert code == 0, err
    lines = out.splitlines()
    assert "\r" not in out and "\x1b" not in out  # not a terminal: plain lines
    assert lines[-2].endswith("| stopped") and "[########################] 100% 3/3" in lines[-2]
    assert "cancelled 3" in lines[-2] and "in flight 0" in lines[-2]
    assert lines[-1] == f"campaign {cid} stopped: 3 contacts; 0 completed, 0 failed, 3 cancelled"
    assert lines[0].endswith("| draft") and "0/3 | pending 3" in lines[0]  # replay from birth
    assert all(a != b for a, b in itertools.pairwise(lines))  # only what changed


def test_progress_line_and_redraw() -> None:
    counts = {"total": 10, "pending": 6, "originated": 2, "connected": 1, "completed": 1,
              "failed": 0, "cancelled": 0}  # fmt: skip
    progress = Progress({"id": "c1", "status": "running", "counts": counts})
    progress.apply(Event(9, "contact", {"from": "connected", "to": "completed"}))
    progress.apply(Event(None, "metrics", {**{"status": "running", "counts": {**counts,
        "connected": 0, "completed": 2}}, "in_flight": 2, "calls_per_second": 1.25,
        "answer_rate": 0.5, "average_talk_seconds": 42.4}))  # fmt: skip
    line = progress.line(bar_width=10)
    assert line.startswith("[##........]  20% 2/10 | pending 6  originated 2  connected 0")
    assert line.endswith("| in flight 2 | 1.2 calls/s | running")
    # Two nodes: the calls in flight on each; one node (the shorthand): nothing to tell.
    nodes = Progress({"id": "c2", "status": "running", "counts": counts})
    one = {"status": "running", "counts": counts, "in_flight": 2, "calls_by_node": {"default": 2}}
    nodes.apply(Event(None, "metrics", one))
    assert "| in flight 2 | " in nodes.line()
    nodes.apply(Event(None, "metrics", {**one, "calls_by_node": {"b": 0, "a": 2}}))
    assert "| in flight 2 (a 2, b 0) | " in nodes.line()
    progress.apply(Event(None, "end", {"status": "completed"}))
    assert progress.summary() == (
        "campaign c1 completed: 10 contacts; 2 completed, 0 failed, 0 cancelled;"
        " answer rate 50%; average talk 42s"
    )


def test_watch_live_in_a_subprocess(own_daemon: Daemon) -> None:
    """The real command, configured by the environment only, following a live campaign."""
    with Client(own_daemon.url, own_daemon.key) as client:
        cid = client.campaigns.create("live", contacts=CSV)["id"]
        env = clean_env(GATEWAY_URL=own_daemon.url, GATEWAY_API_KEY=own_daemon.key)
        watch = subprocess.Popen(
            [sys.executable, "-m", "gateway", "campaigns", "watch", cid, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            own_daemon.wait_for_subscribers(1)
            client.campaigns.start(cid)
            time.sleep(0.1)
            client.campaigns.stop(cid)
            out, err = watch.communicate(timeout=20)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate()
    assert watch.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["event"], e["data"].get("to")) for e in events if e["id"] is not None] == [
        ("campaign", "running"), *[("contact", "cancelled")] * 3, ("campaign", "stopped")
    ]  # fmt: skip
    assert events[-1]["event"] == "end" and own_daemon.key not in out + err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_watch_redraws_in_place_on_a_tty(env: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    with Client(env.url, env.key) as client:
        cid = client.campaigns.create("tty", contacts=CSV)["id"]
        client.campaigns.start(cid)
        client.campaigns.stop(cid)
        screen = Terminal()
        args = build_parser().parse_args(["campaigns", "watch", cid, "--last-event-id", "0"])
        _watch(client, args, out=screen)
    animation, summary, after = screen.getvalue().split("\n")
    assert summary == f"campaign {cid} stopped: 3 contacts; 0 completed, 0 failed, 3 cancelled"
    assert after == ""
    frames = animation.split("\r")[1:]
    assert len(frames) >= 3 and all(f.endswith("\x1b[K") for f in frames)
    assert all(len(f) <= 59 + 3 for f in frames)  # cut to the width: no wrapping
    assert frames[-1].startswith("[########################] 100% 3/3")


def test_retry_on_and_a_contacts_trail(
    env: Daemon, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_json(capsys, "create", str(csv_file), "--name", "R", "--retry-on", "busy")
    assert created["retry_on"] == ["busy"]
    cid = created["id"]
    _, out, _ = run(capsys, "show", cid)
    assert "retry_on:             busy\n" in out
    assert run(capsys, "stop", cid)[0] == 0
    first = run_json(capsys, "contacts", cid, "--limit", "1")["contacts"][0]
    detail = run_json(capsys, "contact", cid, str(first["id"]))
    assert [d["decision"] for d in detail["decisions"]] == ["cancelled"]
    code, out, _ = run(capsys, "contact", cid, str(first["id"]))
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"contact {first['id']} +14155550100: cancelled")
    assert lines[1].split() == ["TIME", "DECISION", "DETAIL"]
    assert lines[2].split()[1:] == ["cancelled", "the", "campaign", "was", "stopped"]
    code, _, err = run(capsys, "create", str(csv_file), "--name", "R", "--retry-on", "lost")
    assert code == 1 and "retry_on: 'lost' is never retried" in err


def test_amd_options(env: Daemon, csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    created = run_json(
        capsys, "create", str(csv_file), "--name", "A", "--amd", "on",
        "--machine-agent-id", "queue",
    )  # fmt: skip
    assert (created["amd"], created["machine_agent_id"]) == ("on", "queue")
    _, out, _ = run(capsys, "show", created["id"])
    assert "amd:                  on\n" in out
    assert "machine_agent_id:     queue\n" in out
    plain = run_json(capsys, "create", str(csv_file), "--name", "B")
    assert (plain["amd"], plain["machine_agent_id"]) == ("off", None)
    code, _, err = run(capsys, "create", str(csv_file), "--name", "C", "--machine-agent-id", "x")
    assert code == 1 and "machine_agent_id: unknown machine_agent_id 'x'" in err


def test_a_contacts_attempts_show_who_answered(capsys: pytest.CaptureFixture[str]) -> None:
    """The human view of `contact`: each attempt's answered_by and amd_cause (- for null)."""
    attempt = {"started_at": "2026-12-02T10:00:00Z", "ended_at": "2026-12-02T10:00:09Z",
               "hangup_cause": 16, "sip_code": None, "talk_seconds": None}  # fmt: skip
    contact = {
        "id": 7, "phone_number": "+14155550100", "status": "completed", "last_outcome": "answered",
        "timezones": ["America/Los_Angeles"], "decisions": [],
        "attempts": [
            {**attempt, "number": 1, "outcome": "machine", "answered_by": "machine",
             "amd_cause": "MAXWORDS-3-2"},
            {**attempt, "number": 2, "outcome": "answered", "answered_by": "unknown",
             "amd_cause": None},
        ],
    }  # fmt: skip
    client = SimpleNamespace(campaigns=SimpleNamespace(get_contact=lambda cid, contact_id: contact))
    args = argparse.Namespace(id="c1", contact_id=7, json=False)
    assert cli_campaigns._contact(client, args) is None  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-2:] == ["ANSWERED_BY", "AMD_CAUSE"]
    assert lines[2].split()[-2:] == ["machine", "MAXWORDS-3-2"]
    assert lines[3].split()[-2:] == ["unknown", "-"]
