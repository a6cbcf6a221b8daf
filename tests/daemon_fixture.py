"""A real `gateway serve` in a subprocess, on a free port with a temp database, and a tenant
with an API key; plus a TCP proxy that can cut connections. For tests that talk to the daemon
over real sockets (the clients and the user CLI).

    from tests.daemon_fixture import daemon, Daemon  # noqa: F401 (the fixture)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CONFIG = """\
[database]
path = "{db}"
[http]
host = "127.0.0.1"
port = {port}
[log]
format = "json"
level = "info"
[compliance]
calling_hours = ""
[campaigns]
default_agent = "ivr"
default_phone_number = "main"
[[agents]]
id = "ivr"
context = "campaign"
[[agents]]
id = "queue"
context = "sales"
extension = "100"
[[phone_numbers]]
id = "main"
caller_id = "+15551230000"
dial_string = "PJSIP/{{number}}@carrier"
"""

CSV = b"phone_number,first_name\n+14155550100,Ada\n+14155550101,Grace\n+14155550102,Linus\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without GATEWAY_* (a developer's settings must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "NOTIFY_"))}
    env["GATEWAY_AMI_PORT"] = "9"  # nothing listens: these daemons never dial a sandbox
    env.update(extra)
    return env


class Daemon:
    """One daemon process; `restart()` keeps its port and database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / "gateway.toml"
        self.config.write_text(CONFIG.format(db=folder / "gateway.db", port=self.port))
        self.log = folder / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.key = ""

    def gateway(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `gateway` command (the operator's CLI) against this daemon's config."""
        return subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            env=clean_env(),
            check=check,
            timeout=30,
        )

    def create_tenant(self, name: str, max_calls: int = 20, cps: float = 5) -> str:
        """A tenant with a fresh key; returns the key."""
        self.gateway("tenants", "create", name, "--max-concurrent-calls", str(max_calls),
                     "--max-calls-per-second", str(cps))  # fmt: skip
        return self.gateway("keys", "create", name).stdout.strip().splitlines()[-1]

    def start(self, timeout: float = 15) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "--config", str(self.config), "serve"],
                stdout=log,
                stderr=log,
                env=clean_env(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "/healthz", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"daemon not up after {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, wait; returns the exit code (0 for a clean stop)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise

    def restart(self) -> None:
        assert self.stop() == 0, self.log.read_text()[-2000:]
        self.start()

    def sse_subscribers(self) -> float:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("gateway_sse_subscribers "):
                    return float(line.split()[1])
        return 0.0

    def wait_for_subscribers(self, count: int, timeout: float = 10) -> None:
        """Until `count` event streams are open (so what happens next is seen live)."""
        deadline = time.monotonic() + timeout
        while self.sse_subscribers() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} SSE subscribers after {timeout}s")
            time.sleep(0.02)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon per test module, tenant `acme` (key in `.key`), stopped cleanly after."""
    server = Daemon(tmp_path_factory.mktemp("daemon"))
    server.key = server.create_tenant("acme")
    server.start()
    try:
        yield server
    finally:
        assert server.stop() == 0, server.log.read_text()[-2000:]


@pytest.fixture
def own_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon for one test (one that restarts it or counts its streams)."""
    server = Daemon(tmp_path)
    server.key = server.create_tenant("acme")
    server.start()
    try:
        yield server
    finally:
        assert server.stop() == 0, server.log.read_text()[-2000:]


class Proxy:
    """A TCP proxy on its own thread and loop: `cut()` drops every open connection
    abruptly, `refuse` makes it close new ones at once (the daemon looks unreachable)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.refuse = False
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Proxy:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self) -> None:
        done = threading.Event()

        def abort() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            done.set()

        self._loop.call_soon_threadsafe(abort)
        done.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for writer in self._writers:
                writer.transport.abort()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.transport.abort()
            return
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))
