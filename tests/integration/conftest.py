"""Fixtures of the integration tests: the sandbox (started if needed, never stopped here:
`.ci/run` stops it) and its second Asterisk node, gateway daemons wired to it, our own
AMI witnesses (one per node), the far end's record of INVITEs, SSE readers and a cuttable
AMI proxy. See tests/integration/support.py and tests/integration/nodes.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.nodes import FarEndRecord, start_nodes
from tests.integration.support import (
    AmiProxy,
    AmiSettings,
    AmiWitness,
    Api,
    BackgroundLoop,
    Gateway,
    GatewayOptions,
    SandboxMissing,
    SseReader,
    start_sandbox,
)
from tests.recount import recount_mismatches


@pytest.fixture(scope="session", autouse=True)
def sandbox() -> AmiSettings:
    """The sandbox Asterisk + SIPp, started (built once) if it does not run. Fails, never
    skips, when it cannot be had."""
    try:
        return start_sandbox()
    except SandboxMissing as exc:
        pytest.fail(f"the integration sandbox is not available: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def sandbox_b(sandbox: AmiSettings) -> AmiSettings:
    """Node b of the sandbox (AMI 127.0.0.1:5039, SIP 5062), started if it does not run
    (`scripts/sandbox start --nodes 2`). Fails, never skips, when it cannot be had."""
    try:
        nodes = start_nodes()
    except SandboxMissing as exc:
        pytest.fail(f"the sandbox's node b is not available: {exc}", pytrace=False)
    assert nodes["a"] == sandbox, (nodes, sandbox)
    return nodes["b"]


@pytest.fixture
def far_end() -> FarEndRecord:
    """The far end's record of INVITEs, from the start of the test on: `.since()`,
    `.wait_numbers(...)`, `.mark()` (tests/integration/nodes.py)."""
    return FarEndRecord.from_now()


@pytest.fixture(scope="session")
def background() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    yield loop
    loop.close()


def _witness(settings: AmiSettings, background: BackgroundLoop) -> Iterator[AmiWitness]:
    watcher = AmiWitness(settings, sample_interval=0.1)
    try:
        background.run(watcher.start())
    except SandboxMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield watcher
    background.run(watcher.close())


@pytest.fixture
def witness(sandbox: AmiSettings, background: BackgroundLoop) -> Iterator[AmiWitness]:
    """Our own AMI login: call events and CoreShowChannels every 100 ms, for one test."""
    yield from _witness(sandbox, background)


@pytest.fixture
def witness_b(sandbox_b: AmiSettings, background: BackgroundLoop) -> Iterator[AmiWitness]:
    """The same as `witness`, logged into node b."""
    yield from _witness(sandbox_b, background)


@pytest.fixture
def gateway(sandbox: AmiSettings, tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Factory: `gateway(name="gw", **GatewayOptions fields)` makes a daemon (not started:
    create its tenants, then `.start()`); every one still running is stopped cleanly
    (SIGTERM, exit code 0) at the end of the test, and then every campaign's stored counts
    must equal a recount of its contacts and attempts (tests/recount.py): each
    integration run (answered, busy, no answer, stopped mid-call, retried, SIGKILLed)
    checks them."""
    made: list[Gateway] = []

    def make(name: str = "gw", **options: Any) -> Gateway:
        server = Gateway(tmp_path / name, sandbox, GatewayOptions(**options))
        made.append(server)
        return server

    yield make
    failures = []
    for server in made:
        if server.daemon.proc is None:
            continue
        code = server.stop()
        if code != 0:
            failures.append(f"{server.url} exited {code} on SIGTERM:\n{server.tail()}")
    for server in made:  # after every run: the kept counts equal a recount
        db = server.daemon.folder / "gateway.db"
        if db.exists():
            failures += recount_mismatches(db)
    assert not failures, "\n".join(failures)


@pytest.fixture
def sse(background: BackgroundLoop) -> Iterator[Callable[..., SseReader]]:
    """Factory: `sse(gateway, api, campaign_id, reconnect=True)` opens the campaign's
    event stream in the background and waits until it is subscribed."""
    readers: list[SseReader] = []

    def open_stream(
        server: Gateway, api: Api, campaign_id: str, reconnect: bool = True
    ) -> SseReader:
        reader = SseReader(server.port, api.key, campaign_id, reconnect).start_on(background)
        readers.append(reader)
        assert reader.subscribed.wait(10), f"event stream not open: {reader.errors}"
        return reader

    yield open_stream
    for reader in readers:
        background.run(reader.stop())


@pytest.fixture
def ami_proxy(sandbox: AmiSettings) -> Iterator[AmiProxy]:
    """A TCP proxy in front of AMI that the test can `cut()` and `restore()`."""
    with AmiProxy(sandbox) as proxy:
        yield proxy
