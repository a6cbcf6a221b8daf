"""`gateway campaigns dnc ...` against a real `gateway serve` subprocess: the tenant's list
through the API, human and --json output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import build_parser, main
from tests.daemon_fixture import Daemon, daemon

assert daemon  # the fixture, used by name


@pytest.fixture
def env(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    for name in ("GATEWAY_URL", "GATEWAY_API_KEY", "GATEWAY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GATEWAY_URL", daemon.url)
    monkeypatch.setenv("GATEWAY_API_KEY", daemon.key)
    return daemon


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["campaigns", "dnc", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def empty(env: Daemon, capsys: pytest.CaptureFixture[str]) -> Any:
    """The tenant's list is empty before and after the test."""
    yield env
    for entry in run_json(capsys, "list", "--limit", "1000")["numbers"]:
        run(capsys, "remove", entry["phone_number"])


def test_parsing() -> None:
    args = build_parser().parse_args(
        ["campaigns", "dnc", "add", "+14155550100", "4155550101", "--reason", "asked", "--json"]
    )
    assert (args.numbers, args.reason, args.json) == (["+14155550100", "4155550101"], "asked", True)
    listing = build_parser().parse_args(["campaigns", "dnc", "list", "--phone-number", "x"])
    assert (listing.phone_number, listing.limit) == ("x", None) and callable(listing.handler)


@pytest.mark.parametrize(
    "argv",
    [
        ["campaigns", "dnc"],
        ["campaigns", "dnc", "add"],
        ["campaigns", "dnc", "remove"],
        ["campaigns", "dnc", "list", "--limit", "many"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2


def test_human_output(empty: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "add", "+14155550101", "(415) 555-0100", "--reason", "asked")
    assert (code, out) == (0, "tenant list: added 2, already listed 0\n"), err
    path = tmp_path / "more.csv"
    path.write_text("phone_number\n+14155550100\n+14155550102\n")
    assert run(capsys, "import", str(path), "--reason", "file")[:2] == (
        0,
        "tenant list: added 1, already listed 1\n",
    )
    code, out, _ = run(capsys, "list")
    header, *rows, footer = out.splitlines()
    assert header.split() == ["PHONE_NUMBER", "CREATED", "REASON"]
    assert [(r.split()[0], r.split()[-1]) for r in rows] == [
        ("+14155550100", "asked"),
        ("+14155550101", "asked"),
        ("+14155550102", "file"),
    ]
    assert footer == "3 of 3 numbers"
    _, out, _ = run(capsys, "list", "--phone-number", "415 555 0102")
    assert out.splitlines()[1].startswith("+14155550102 ") and len(out.splitlines()) == 2
    assert run(capsys, "list", "--phone-number", "+14155550199")[1].endswith("not on the list\n")
    removed = run(capsys, "remove", "415.555.0102")  # said as the server normalised it
    assert removed[:2] == (0, "removed +14155550102 from the tenant list\n")
    assert run(capsys, "list", "--limit", "1", "--offset", "1")[1].splitlines()[-1] == (
        "1 of 2 numbers"
    )
    assert empty.key not in out


def test_json_output(empty: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "add", "+14155550100") == {"added": 1, "already": 0}
    page = run_json(capsys, "list")
    assert page["total"] == 1 and page["numbers"][0]["phone_number"] == "+14155550100"
    assert run_json(capsys, "remove", "(415) 555-0100") == {
        "phone_number": "+14155550100",
        "removed": True,
    }


def test_errors_exit_1_with_the_message(
    empty: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "add", "+14155550100", "bogus")
    assert (code, out) == (1, "")
    assert err.startswith("gateway: 400 phone_numbers: row 2: not a dialable phone number")
    bad = tmp_path / "bad.csv"
    bad.write_text("phone_number\n+14155550100\nnope\n")
    code, _, err = run(capsys, "import", str(bad))
    assert code == 1 and err.startswith("gateway: 400 numbers: row 3:")
    assert run_json(capsys, "list")["total"] == 0  # nothing was added
    code, _, err = run(capsys, "remove", "+14155550100")
    assert (code, err) == (1, "gateway: 404 number not on the do-not-call list\n")
    code, _, err = run(capsys, "remove", "bogus")  # unreadable: not listed, and why
    assert code == 1
    assert err.startswith("gateway: 404 not on the do-not-call list: not a dialable phone number")
    code, _, err = run(capsys, "import", "/no/such.csv")
    assert code == 2 and "cannot read /no/such.csv" in err
