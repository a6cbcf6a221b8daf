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
from gateway.http.keys import SERVICE, STORE, UPLOADS
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
    as_json = await api.request("POST", "/dnc", json={"phone_numbers": ["+14155550199"]})
    assert as_json.status == 429  # and so is a JSON list (up to 1 MiB, parsed in a thread)
    assert (await (await api.request("GET", "/campaigns")).json())["total"] == 0
    assert (await (await api.request("GET", "/dnc")).json())["total"] == 0
    await other.create_ok()  # another tenant's slots are its own

    release.set()
    response = await first
    assert response.status == 201, await response.json()
    assert (await response.json())["import"]["contacts"] == 2
    assert client.app[UPLOADS].open_for(tenant) == 0
    await api.create_ok()  # its slot is free again


async def test_a_refused_upload_opens_nothing_and_a_failed_or_dropped_one_frees_its_slot(
    aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    app = create_app(make_config(tmp_path, max_uploads_per_tenant=1))
    client = await aiohttp_client(app)
    api = await new_tenant(client, "acme")
    tenant = await client.app[STORE].db.fetch_value("SELECT id FROM tenants WHERE name = 'acme'")
    service, made = client.app[SERVICE], []
    real_new_import = service.new_import

    def new_import(*args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return real_new_import(*args, **kwargs)

    service.new_import = new_import  # type: ignore[method-assign]
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    release = asyncio.Event()
    held = asyncio.create_task(
        api.request("POST", "/campaigns", data=held_body(release), headers=headers)
    )
    await until(lambda: client.app[UPLOADS].open_for(tenant) == 1, 10, "the held upload")
    for _ in range(3):
        assert (await api.create()).status == 429
    assert len(made) == 1, "a refused upload made an importer (a parser in the shared worker)"

    # The client goes away mid-upload: the import is dropped and the slot is free again.
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
    await until(lambda: client.app[UPLOADS].open_for(tenant) == 0, 10, "the dropped upload")
    # A bad upload (a 400) frees its slot too.
    bad = await api.create(csv=b"phone_number\nnot a number\n")
    assert bad.status == 400, await bad.json()
    assert client.app[UPLOADS].open_for(tenant) == 0
    await api.create_ok()
    assert (await (await api.request("GET", "/campaigns")).json())["total"] == 1
