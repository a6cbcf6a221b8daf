"""Fixtures of the dispatcher tests (the harness is in harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.dialer import nodes
from tests.unit.dialer.harness import Env
from tests.unit.dialer.support import FakeAsterisk


@pytest.fixture(autouse=True)
def quick_reconcile(monkeypatch: pytest.MonkeyPatch) -> None:
    """After each login of a node the dispatcher waits RECONCILE_GRACE (1 s) for events already on
    the wire before it judges which calls vanished. The fake's events cross a loopback
    socket in well under a millisecond, so 0.2 s changes nothing that is judged and saves
    most of a second per test. Nothing else of the dispatcher is tuned."""
    monkeypatch.setattr(nodes, "RECONCILE_GRACE", 0.2)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def env(fake: FakeAsterisk, tmp_path: Path, aiohttp_client: Callable[..., Any]) -> Env:
    # `fake` first: it is torn down after the apps that talk to it.
    return Env(fake, tmp_path, aiohttp_client)
