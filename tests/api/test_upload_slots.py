"""`[http] max_uploads_per_tenant`: uploads in progress at once, per tenant. One more is
a 429 before any of it is read; other tenants, and the tenant once one has finished,
upload as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import FormData

from gateway.daemon.app import create_app
from gateway.http.keys import STORE, UPLOADS
from tests.helpers import make_config, new_tenant
from tests.unit.dialer.support import until

BOUNDARY = "slotsboundary"


async def held_body(release: asyncio.Event) -> AsyncIterator[bytes]:
    """A campaign upload whose CSV stops half-way until `release` is set."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nslow\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="contacts";'
        ' filename="c.csv"\r\nContent-Type: text/csv\r\n\r\nphone_number\n+14155550100\n'
    ).encode()
    await release.wait()
    yield f"+14155550101\n\r\n--{BOUNDARY}--\r\n".encode()


async def test_one_upload_over_the_limit_is_refused_with_429(
    aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_config(tmp_path, max_uploads_per_tenant=1)))
    api, other = await new_tenant(client, "acme"), await new_tenant(client, "globex")
    tenant = await client.app[STORE].db.fetch_value("SELECT id FROM tenants WHERE name = 'acme'")
    release = asyncio.Event()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    first = asyncio.create_task(
        api.request("POST", "/campaigns", data=held_body(release), headers=headers)
    )
    await until(lambda: client.app[UPLOADS].open_for(tenant) == 1, 10, "the first upload")

    refused = await api.create()
    assert refused.status == 429
    assert "at most 1 uploads at once" in (await refused.json())["error"]
    form = FormData()
    form.add_field("numbers", b"phone_number\n+14155550199\n", filename="dnc.csv")
    listed = await api.request("POST", "/dnc", data=form)
    assert listed.status == 429  # a do-not-call CSV is an upload too
    assert (await (await api.request("GET", "/campaigns")).json())["total"] == 0
    assert (await (await api.request("GET", "/dnc")).json())["total"] == 0
    await other.create_ok()  # another tenant's slots are its own

    release.set()
    response = await first
    assert response.status == 201, await response.json()
    assert (await response.json())["import"]["contacts"] == 2
    assert client.app[UPLOADS].open_for(tenant) == 0
    await api.create_ok()  # its slot is free again
