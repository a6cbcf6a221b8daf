"""Shared fixtures: a configured app on a temp database and tenants with keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.daemon.app import create_app
from tests.helpers import Api, make_config, new_tenant

pytest_plugins = ["tests.daemon_fixture"]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], config: Config) -> TestClient:
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def api(client: TestClient) -> Api:
    return await new_tenant(client, "acme")


@pytest.fixture
async def other_api(client: TestClient) -> Api:
    return await new_tenant(client, "globex")
