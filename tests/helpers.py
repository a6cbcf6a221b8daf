"""Test helpers: a config on a temp database, a tenant-bound API client, SSE parsing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.config import Agent, Config, PhoneNumber
from gateway.http.keys import STORE


def make_config(tmp_path: Path, **overrides: Any) -> Config:
    base = Config(
        db_path=str(tmp_path / "gateway.db"),
        agents=(Agent("ivr", "campaign"), Agent("queue", "sales", "100", 1)),
        phone_numbers=(
            PhoneNumber("main", "+15551230000", "PJSIP/{number}@carrier"),
            PhoneNumber("alt", "+15551230001", "PJSIP/{number}@carrier"),
        ),
        default_agent="ivr",
        default_phone_number="main",
        ami_port=9,  # nothing listens there: API tests never dial a running sandbox
        calling_hours="",  # off: tests dial at any hour, unless they test the hours
    )
    return replace(base, **overrides)


ONE = "phone_number\n+14155550100\n"


@dataclass
class Api:
    """A test client bound to one tenant's key."""

    client: TestClient
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)

    async def create(self, csv: str | bytes = ONE, **fields: Any) -> Any:
        form = FormData()
        fields.setdefault("name", "test campaign")
        for name, value in fields.items():
            form.add_field(name, str(value))
        data = csv.encode() if isinstance(csv, str) else csv
        form.add_field("contacts", data, filename="contacts.csv", content_type="text/csv")
        return await self.request("POST", "/campaigns", data=form)

    async def create_ok(self, csv: str | bytes = ONE, **fields: Any) -> dict[str, Any]:
        response = await self.create(csv, **fields)
        body = await response.json()
        assert response.status == 201, body
        return body


async def new_tenant(client: TestClient, name: str, max_calls: int = 50, cps: float = 10) -> Api:
    store = client.app[STORE]
    await store.tenants.create(name, max_calls, cps)
    return Api(client, await store.tenants.create_key(name))


async def read_sse(
    response: Any, until: Callable[[list[dict[str, Any]]], bool], seconds: float = 10
) -> list[dict[str, Any]]:
    """Parse an SSE response into a list of {id, event, data} or {comment} until `until`
    holds (checked after each chunk read) or the stream ends. Bytes of an incomplete event
    stay in `response._sse_buffer` for the next call."""
    events: list[dict[str, Any]] = []
    buffer: bytes = getattr(response, "_sse_buffer", b"")
    async with asyncio.timeout(seconds):
        while True:
            *blocks, buffer = buffer.split(b"\n\n")
            for block in blocks:
                current: dict[str, Any] = {}
                for line in block.decode().split("\n"):
                    if line.startswith(":"):
                        events.append({"comment": line[1:].strip()})
                    else:
                        field, _, value = line.partition(":")
                        current[field] = value.removeprefix(" ")
                if current:
                    events.append(current)
            if until(events):
                break
            chunk = await response.content.readany()
            if not chunk:
                break
            buffer += chunk
    response._sse_buffer = buffer
    return events


def csv_of(count: int, start: int = 0, extra: str = "") -> str:
    header = "phone_number" + (",name" if extra else "")
    rows = [
        f"+1415{5550000 + start + i:07d}" + (f",{extra}{i}" if extra else "") for i in range(count)
    ]
    return header + "\n" + "\n".join(rows) + "\n"
