"""The dispatcher test harness: the real app (HTTP API, store on a temp SQLite file,
Dispatcher, AmiTelephony, AmiClient) against a fake Asterisk speaking the AMI wire format
(support.FakeAsterisk), and the API helpers the tests share. Fixtures: conftest.py."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.ami.telephony import AmiTelephony
from gateway.config import Config
from gateway.daemon.app import create_app
from gateway.domain.calls import OriginateRequest
from gateway.http.keys import STORE
from tests.helpers import Api, make_config
from tests.unit.dialer.support import Arrival, FakeAsterisk, until

# The dispatcher re-reads campaigns and due contacts every REFRESH_SECONDS (1 s): a check
# that nothing happens waits longer than one refresh and a dial tick (0.2 s).
QUIET = 1.3


# -- harness -------------------------------------------------------------------------------


@dataclass
class Env:
    fake: FakeAsterisk
    tmp_path: Path
    make_client: Callable[..., Any]

    def config(self, ami: bool = True, **overrides: Any) -> Config:
        config = make_config(self.tmp_path)
        if ami:
            config = replace(
                config,
                ami_port=self.fake.port,
                ami_username=self.fake.username,
                ami_secret=self.fake.secret,
                ami_ping_interval=0.2,
                ami_ping_timeout=0.5,
            )
        return replace(config, **overrides)

    async def gateway(self, ami: bool = True, **overrides: Any) -> TestClient:
        """Start the daemon's app; `ami=False` points it at a port where nothing listens
        (it serves the API but can never dial)."""
        return await self.make_client(create_app(self.config(ami, **overrides)))


def csv(phones: list[str]) -> str:
    return "phone_number\n" + "".join(f"{p}\n" for p in phones)


async def create(api: Api, phones: list[str], **fields: Any) -> str:
    body = await api.create_ok(csv(phones), **fields)
    return str(body["id"])


async def command(api: Api, cid: str, name: str) -> dict[str, Any]:
    response = await api.request("POST", f"/campaigns/{cid}/{name}")
    body = await response.json()
    assert response.status == 200, body
    return dict(body)


async def campaign(api: Api, cid: str) -> dict[str, Any]:
    response = await api.request("GET", f"/campaigns/{cid}")
    assert response.status == 200
    return dict(await response.json())


async def contacts(api: Api, cid: str) -> dict[str, dict[str, Any]]:
    """The campaign's contacts by phone number."""
    response = await api.request("GET", f"/campaigns/{cid}/contacts?limit=1000")
    assert response.status == 200
    return {c["phone_number"]: c for c in (await response.json())["contacts"]}


async def wait_status(api: Api, cid: str, status: str, within: float = 10.0) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        seen.update(await campaign(api, cid))
        return seen["status"] == status

    await until(reached, within, lambda: f"campaign {status}; it is {seen.get('status')} "
                f"with counts {seen.get('counts')}")  # fmt: skip
    return seen


async def wait_contacts(
    api: Api, cid: str, check: Callable[[dict[str, dict[str, Any]]], bool], within: float = 5.0
) -> dict[str, dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}

    async def reached() -> bool:
        seen.clear()
        seen.update(await contacts(api, cid))
        return check(seen)

    def state() -> str:
        return str({p: (c["status"], c["attempts"], c["last_outcome"]) for p, c in seen.items()})

    await until(reached, within, state)
    return seen


def having(status: str, count: int) -> Callable[[dict[str, dict[str, Any]]], bool]:
    return lambda found: sum(c["status"] == status for c in found.values()) == count


def at_least(status: str, count: int) -> Callable[[dict[str, dict[str, Any]]], bool]:
    return lambda found: sum(c["status"] == status for c in found.values()) >= count


async def stored_events(client: TestClient, cid: str) -> list[tuple[int, str, dict[str, Any]]]:
    rows = await client.app[STORE].db.fetch_all(
        "SELECT e.id, e.type, e.data FROM events e JOIN campaigns c ON c.pk = e.campaign_pk"
        " WHERE c.id = ? ORDER BY e.id",
        (cid,),
    )
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


async def stays(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Assert that `check()` holds throughout the next `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert check(), what
        await asyncio.sleep(0.01)
    assert check(), what


def of_campaign(cid: str) -> Callable[[Any], bool]:
    return lambda item: item.campaign_id == cid


def assert_each_dialled_once(arrivals: list[Arrival], phones: list[str]) -> None:
    """One Originate per attempt id, one attempt per phone number (no retries here)."""
    ids = Counter(a.attempt_id for a in arrivals)
    assert [i for i, n in ids.items() if n > 1] == []
    dialled = Counter(a.phone for a in arrivals)
    assert {p: n for p, n in dialled.items() if n != 1} == {}
    assert sorted(dialled) == sorted(phones)


def assert_reconciled_before_dialling(fake: FakeAsterisk, connection: int) -> None:
    names = [name for conn, name in fake.log if conn == connection]
    assert "coreshowchannels" in names, names
    if "originate" in names:
        assert names.index("coreshowchannels") < names.index("originate"), names


class OriginateLog:
    """Every Originate as the gateway writes it: AmiTelephony.originate writes to the
    socket in the same step of the event loop as it is called, so this is the moment it
    left (the fake's arrival times add its own read jitter). `tick()` orders a moment of
    the test (the answer to a pause, say) against them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._clock = itertools.count()
        self.sent: list[tuple[int, float, str]] = []  # (tick, time.monotonic(), campaign)
        original = AmiTelephony.originate

        async def originate(telephony: AmiTelephony, request: OriginateRequest) -> None:
            self.sent.append((self.tick(), time.monotonic(), request.variables["CAMPAIGN_ID"]))
            await original(telephony, request)

        monkeypatch.setattr(AmiTelephony, "originate", originate)

    def tick(self) -> int:
        return next(self._clock)

    def times(self, *campaign_ids: str) -> list[float]:
        return [at for _, at, cid in self.sent if not campaign_ids or cid in campaign_ids]

    def after(self, tick: int, campaign_id: str) -> list[int]:
        return [t for t, _, cid in self.sent if cid == campaign_id and t > tick]

    def none_after(self, tick: int, campaign_id: str) -> Callable[[], bool]:
        return lambda: not self.after(tick, campaign_id)

    def some_after(self, tick: int, campaign_id: str) -> Callable[[], bool]:
        return lambda: bool(self.after(tick, campaign_id))
