"""Helpers shared by the AMI unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# Small intervals: every timing behaviour of the client shows within a fraction of a second.
FAST = {
    "ping_interval": 0.1,
    "ping_timeout": 0.1,
    "action_timeout": 1.0,
    "connect_timeout": 1.0,
    "write_timeout": 1.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "auth_retry_interval": 0.2,
}


async def until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Wait until `predicate()` holds (polling every 2 ms); TimeoutError after `within` s."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polls state owned by the code under test
            await asyncio.sleep(0.002)
