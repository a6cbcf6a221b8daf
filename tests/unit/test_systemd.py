"""sd_notify, the watchdog, and the unit file (checked by systemd-analyze itself)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from gateway.client import Client
from gateway.config import load
from gateway.daemon import systemd
from gateway.daemon.app import upgrading
from tests.daemon_fixture import CSV, Daemon, clean_env

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "campaign-gateway.service"


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's, named by $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def drain(sock: socket.socket) -> list[str]:
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        return messages
    finally:
        sock.settimeout(5)


def test_notify_sends_a_datagram(notify_socket: socket.socket) -> None:
    assert systemd.notify("READY=1\nSTATUS=serving")
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=serving"


def test_an_upgrade_batch_extends_the_start_timeout(notify_socket: socket.socket) -> None:
    upgrading(40_000)
    assert notify_socket.recv(4096) == (
        b"EXTEND_TIMEOUT_USEC=60000000\nSTATUS=upgrading: 40000 rows read"
    )


def test_notify_to_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"gateway-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify("WATCHDOG=1")
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_outside_systemd_does_nothing(tmp_path: Path) -> None:
    assert not systemd.notify("READY=1", environ={})
    assert not systemd.notify("READY=1", environ={"NOTIFY_SOCKET": "vsock:2:1234"})
    gone = {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")}
    assert not systemd.notify("READY=1", environ=gone)  # logged, not raised


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    mine = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    assert systemd.watchdog_interval(mine) == 0.5
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_interval({}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "0"}) is None


async def test_watchdog_is_fed_from_the_event_loop(
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms
    app = web.Application()
    lifetime = systemd.systemd_ctx(app)
    await anext(lifetime)
    await asyncio.sleep(0.22)
    assert drain(notify_socket).count("WATCHDOG=1") >= 3
    time.sleep(0.3)  # noqa: ASYNC251 - a hung loop: the task cannot run, no ping goes out
    assert drain(notify_socket) == []
    await asyncio.sleep(0.12)
    assert drain(notify_socket).count("WATCHDOG=1") >= 1
    with pytest.raises(StopAsyncIteration):
        await anext(lifetime)  # app cleanup: the task ends
    drain(notify_socket)
    await asyncio.sleep(0.12)
    assert drain(notify_socket) == []


def test_no_watchdog_task_without_watchdog_usec(
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)

    async def run() -> int:
        lifetime = systemd.systemd_ctx(web.Application())
        await anext(lifetime)
        tasks = len(asyncio.all_tasks())
        await anext(lifetime, None)
        return tasks

    assert asyncio.run(run()) == 1  # only run() itself
    assert drain(notify_socket) == []


# The wiring proposed for gateway/daemon/app.py and gateway/daemon/serve.py, in a real process.
WIRED = """
import sys
from aiohttp import web
from gateway.daemon import logs, systemd
from gateway.daemon.app import create_app
from gateway.config import load
config = load(sys.argv[1])
logs.configure("info", "json")
app = create_app(config)
systemd.setup(app)
web.run_app(app, host=config.http_host, port=config.http_port, print=systemd.ready,
            access_log=None, shutdown_timeout=10)
"""


def test_ready_after_listening_watchdog_and_stopping(tmp_path: Path) -> None:
    server = Daemon(tmp_path)
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        env = clean_env(NOTIFY_SOCKET=str(path), WATCHDOG_USEC="200000")
        with server.log.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", WIRED, str(server.config)], stdout=log, stderr=log, env=env
            )
        try:
            seen = []
            while "READY=1" not in seen:
                seen += sock.recv(4096).decode().split("\n")
            # READY=1 means the port takes connections now, not "soon".
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            started = time.monotonic()
            pings = [m for m in sock.recv(4096).decode().split("\n") if m == "WATCHDOG=1"]
            pings += [m for m in sock.recv(4096).decode().split("\n") if m == "WATCHDOG=1"]
            assert len(pings) == 2 and time.monotonic() - started < 1
            proc.send_signal(signal.SIGTERM)
            messages: list[str] = []
            while "STOPPING=1" not in messages:
                messages += sock.recv(4096).decode().split("\n")
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert '"event": "told systemd we are ready"' in server.log.read_text()


def _unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_asks_for_what_the_daemon_needs() -> None:
    s = _unit_settings()
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "User": "campaign-gateway",
        "DynamicUser": "no",
        "StateDirectory": "campaign-gateway",
        "ConfigurationDirectory": "campaign-gateway",
        "ExecStart": "/opt/campaign-gateway/venv/bin/gateway serve",
        "EnvironmentFile": "-/etc/campaign-gateway/secrets.env",
        "Environment": "GATEWAY_CONFIG=/etc/campaign-gateway/gateway.toml",
        "KillSignal": "SIGTERM",
        "ProtectSystem": "strict",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "UMask": "0027",
    }
    assert {k: s.get(k, [None])[0] for k in expected} == expected
    assert "asterisk.service" in s["Wants"][0] and "asterisk.service" in s["After"][0]
    assert "Requires" not in s and "StartLimitBurst" in s and "StartLimitIntervalSec" in s


def test_example_files_are_usable() -> None:
    config = load(ROOT / "systemd" / "gateway.toml.example", environ={})
    assert config.db_path == "/var/lib/campaign-gateway/gateway.db"  # $STATE_DIRECTORY unset
    env = (ROOT / "systemd" / "campaign-gateway.env.example").read_text()
    assert "\nGATEWAY_AMI_SECRET=" in env


@pytest.fixture
def unit_root(tmp_path: Path) -> Path:
    """A root with the host's system units, the unit, and an executable at its ExecStart."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd")
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    gateway = root / "opt/campaign-gateway/venv/bin/gateway"
    gateway.parent.mkdir(parents=True)
    gateway.write_text("#!/bin/sh\n")
    gateway.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system" / UNIT.name)
    return root


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", *args, f"--root={root}", UNIT.name],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_systemd_analyze_verify_passes(unit_root: Path) -> None:
    result = analyze(unit_root, "verify", "--man=no")
    complaints = [line for line in result.stderr.splitlines() if UNIT.name in line]
    assert result.returncode == 0 and complaints == [], result.stderr
    # The check is not vacuous: a mistake in the unit is reported.
    installed = unit_root / "etc/systemd/system" / UNIT.name
    installed.write_text(installed.read_text().replace("Type=notify", "Type=notfy"))
    assert "Failed to parse service type" in analyze(unit_root, "verify", "--man=no").stderr


def test_systemd_analyze_security_exposure_is_low(unit_root: Path) -> None:
    result = analyze(unit_root, "security", "--offline=yes", "--threshold=20", "--no-pager")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


# prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): what MemoryDenyWriteExecute= enforces, set on
# the daemon's process (it survives exec) before Python starts.
MDWE_LAUNCHER = """
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit(77)  # not enforced here
except PermissionError:
    pass
os.execv(sys.executable, [sys.executable, "-m", "gateway", *sys.argv[1:]])
"""


def test_daemon_runs_with_memory_deny_write_execute(tmp_path: Path) -> None:
    server = Daemon(tmp_path)
    key = server.create_tenant("acme")
    probe = subprocess.run(
        [sys.executable, "-c", MDWE_LAUNCHER, "--version"], capture_output=True, check=False
    )
    if probe.returncode == 77:
        pytest.skip("this kernel does not enforce PR_SET_MDWE")
    with server.log.open("wb") as log:
        server.proc = subprocess.Popen(
            [sys.executable, "-c", MDWE_LAUNCHER, "--config", str(server.config), "serve"],
            stdout=log, stderr=log, env=clean_env(),
        )  # fmt: skip
    try:
        with Client(server.url, key) as client:
            for _ in range(200):
                try:
                    client.campaigns.list()
                    break
                except Exception:
                    time.sleep(0.05)
            cid = client.campaigns.create("mdwe", contacts=CSV)["id"]
            client.campaigns.start(cid)
            client.campaigns.stop(cid)
            assert [e.event for e in client.campaigns.stream_events(cid, 0)][-1] == "end"
    finally:
        assert server.stop() == 0, server.log.read_text()[-2000:]
