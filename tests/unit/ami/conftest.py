from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gateway.ami.client import AmiClient
from gateway.ami.telephony import AmiTelephony
from tests.fakes.ami_server import FakeAmiServer
from tests.unit.ami.support import FAST, until


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    fake = FakeAmiServer()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def make_client(server: FakeAmiServer) -> AsyncIterator[Callable[..., AmiClient]]:
    clients: list[AmiClient] = []

    def make(**options: Any) -> AmiClient:
        secret = options.pop("secret", server.secret)
        client = AmiClient("127.0.0.1", server.port, server.username, secret, **(FAST | options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def telephony(server: FakeAmiServer) -> AsyncIterator[AmiTelephony]:
    """An AmiTelephony logged in to the fake server, for replaying recorded transcripts."""
    client = AmiClient("127.0.0.1", server.port, server.username, server.secret, **FAST)
    telephony = AmiTelephony(client, hangup_grace=0.2)
    await telephony.start()
    await until(lambda: client.state.logged_in)
    yield telephony
    await telephony.close()
