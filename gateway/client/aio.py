"""`AsyncClient`, the client's implementation on aiohttp, and its `campaigns`."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import quote

import aiohttp
import structlog

from gateway import __version__
from gateway.client.errors import GatewayConnectionError, ServerError, error_for
from gateway.client.sse import Event, SSEParser

# A library logs through the standard logging module, so the application decides where it
# goes (structlog's default would print to stdout); structlog renders key=value text.
# The logger keeps the package's name: applications filter on "gateway.client".
log = structlog.wrap_logger(
    logging.getLogger("gateway.client"),
    wrapper_class=structlog.stdlib.BoundLogger,
    processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
)

Contacts = BinaryIO | IO[bytes] | bytes | bytearray | str | os.PathLike[str]

DEFAULT_TIMEOUT = 30.0
STREAM_READ_TIMEOUT = 45.0  # the server sends a heartbeat every 15 s: three missed ones
MAX_RECONNECT_DELAY = 10.0


def _form_value(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name}: give a timezone-aware datetime")
        return value.isoformat()
    if isinstance(value, bool):  # amd=True / False
        return "on" if value else "off"
    if isinstance(value, list | tuple | set | frozenset):  # retry_on: a list of outcomes
        return ",".join(str(v) for v in value)
    return str(value)


def _contacts_part(contacts: Contacts) -> tuple[IO[bytes] | bytes, str, IO[bytes] | None]:
    """(payload, filename, file to close afterwards); files are streamed, never read whole."""
    if isinstance(contacts, bytes | bytearray):
        return bytes(contacts), "contacts.csv", None
    if isinstance(contacts, str | os.PathLike):
        opened = open(contacts, "rb")  # noqa: SIM115 - closed by the caller after the request
        return opened, Path(contacts).name or "contacts.csv", opened
    if isinstance(contacts, io.TextIOBase):
        raise TypeError("contacts: open the file in binary mode ('rb')")
    name = getattr(contacts, "name", None)
    filename = Path(name).name if isinstance(name, str) and name else "contacts.csv"
    return contacts, filename, None


class AsyncCampaigns:
    """`client.campaigns` of an `AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self, limit: int | None = None, offset: int | None = None, page: int | None = None
    ) -> dict[str, Any]:
        """`{"campaigns": [...], "total": N}`, newest first."""
        params = {"limit": limit, "offset": offset, "page": page}
        return await self._client.request("GET", "/campaigns", params=params)

    async def get(self, campaign_id: str) -> dict[str, Any]:
        return await self._client.request("GET", _path(campaign_id))

    async def create(
        self,
        name: str,
        agent_id: str | None = None,
        phone_number_id: str | None = None,
        contacts: Contacts | None = None,
        max_concurrent_calls: int = 5,
        retries_per_contact: int = 0,
        retry_delay_seconds: int = 300,
        scheduled_at: datetime | str | None = None,
        max_calls_per_second: float | None = None,
        ring_timeout_seconds: int | None = None,
        timezone: str | None = None,
        calling_window_start: str | None = None,
        calling_window_end: str | None = None,
        retry_on: Sequence[str] | str | None = None,
        amd: str | bool | None = None,
        machine_agent_id: str | None = None,
    ) -> dict[str, Any]:
        """Upload `contacts` (a binary file, a path, or bytes: a CSV with a phone_number
        column) as a new draft campaign; the answer also carries an `import` report.
        `amd`: "on"/"off" (or True/False), answering-machine detection; `machine_agent_id`:
        the configured agent that takes the calls a machine answered (none: hung up)."""
        if contacts is None:
            raise TypeError("create() needs contacts: a CSV file opened 'rb', a path or bytes")
        fields = {k: v for k, v in locals().items() if k not in ("self", "contacts")}
        form = aiohttp.FormData()  # every parameter but contacts is a form field of that name
        for key, value in fields.items():
            if value is not None:
                form.add_field(key, _form_value(key, value))
        payload, filename, opened = _contacts_part(contacts)
        try:
            form.add_field("contacts", payload, filename=filename, content_type="text/csv")
            return await self._client.request("POST", "/campaigns", data=form)
        finally:
            if opened is not None:
                opened.close()

    async def start(self, campaign_id: str) -> dict[str, Any]:
        return await self._client.request("POST", _path(campaign_id, "start"))

    async def pause(self, campaign_id: str) -> dict[str, Any]:
        return await self._client.request("POST", _path(campaign_id, "pause"))

    async def resume(self, campaign_id: str) -> dict[str, Any]:
        return await self._client.request("POST", _path(campaign_id, "resume"))

    async def stop(self, campaign_id: str) -> dict[str, Any]:
        return await self._client.request("POST", _path(campaign_id, "stop"))

    async def delete(self, campaign_id: str) -> None:
        await self._client.request("DELETE", _path(campaign_id))

    async def list_contacts(
        self,
        campaign_id: str,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        page: int | None = None,
    ) -> dict[str, Any]:
        """`{"contacts": [...], "total": N}`, optionally only those in `status`."""
        params = {"status": status, "limit": limit, "offset": offset, "page": page}
        return await self._client.request("GET", _path(campaign_id, "contacts"), params=params)

    async def get_contact(self, campaign_id: str, contact_id: int) -> dict[str, Any]:
        """One contact with its `attempts` and `decisions` (why it was dialled, deferred,
        skipped, retried or not)."""
        path = _path(campaign_id, "contacts/" + quote(str(contact_id), safe=""))
        return await self._client.request("GET", path)

    async def stream_events(
        self,
        campaign_id: str,
        last_event_id: int | None = None,
        *,
        max_retries: int = 5,
        retry_delay: float = 0.5,
        history: int | None = None,
    ) -> AsyncIterator[Event]:
        """The campaign's live events, until (and including) `end`. A dropped connection
        is re-opened with Last-Event-ID, so no stored event is lost or repeated; after
        `max_retries` failed attempts in a row (delays doubling from `retry_delay`) it
        raises GatewayConnectionError. Without `last_event_id` it starts from now, after
        the campaign's last `history` contact transitions when that is given (1-1000)."""
        last, failures = last_event_id, 0
        url = self._client.url(_path(campaign_id, "events"))
        if history is not None:  # used by the server only without Last-Event-ID
            if isinstance(history, bool) or not isinstance(history, int):
                raise TypeError(f"history: a whole number from 1 to 1000, not {history!r}")
            url = f"{url}?history={history}"
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._client.timeout, sock_read=STREAM_READ_TIMEOUT
        )
        while True:
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            session = await self._client.session()
            try:
                async with session.get(url, headers=headers, timeout=timeout) as response:
                    if response.status >= 400:
                        error = error_for(
                            response.status, await response.read(), response.reason or ""
                        )
                        if not isinstance(error, ServerError):
                            raise error
                        reason = str(error)
                    else:
                        parser = SSEParser()
                        async for raw in response.content:
                            event = parser.feed(raw.decode("utf-8", "replace").rstrip("\r\n"))
                            if parser.last_id is not None:
                                last = parser.last_id
                            if event is not None:
                                failures = 0
                                yield event
                                if event.event == "end":
                                    return
                        reason = "the stream closed before the end event"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            failures += 1
            if failures > max_retries:
                raise GatewayConnectionError(
                    f"event stream lost after {max_retries} retries: {reason}"
                )
            delay = min(retry_delay * 2 ** (failures - 1), MAX_RECONNECT_DELAY)
            log.warning(
                "event stream dropped, reconnecting", reason=reason, last_event_id=last, delay=delay
            )
            await asyncio.sleep(delay)


def _path(campaign_id: str, action: str = "") -> str:
    path = "/campaigns/" + quote(str(campaign_id), safe="")
    return f"{path}/{action}" if action else path


class AsyncClient:
    """The gateway API on aiohttp. Use `async with AsyncClient(...)` or call `close()`."""

    def __init__(self, base_url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/api/v1")
        self.timeout = timeout
        self._api_key = api_key
        self._session: aiohttp.ClientSession | None = None
        self.campaigns = AsyncCampaigns(self)
        from gateway.client.dnc import AsyncDnc  # it imports this module

        self.dnc = AsyncDnc(self)

    def __repr__(self) -> str:  # never the key
        return f"AsyncClient({self.base_url!r})"

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1{path}"

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={
                    "Authorization": f"Bearer {self._api_key}",
                    "User-Agent": f"campaign-gateway-client/{__version__}",
                },
                # Per read, not total: an upload of any size may take longer than `timeout`.
                timeout=aiohttp.ClientTimeout(sock_connect=self.timeout, sock_read=self.timeout),
            )
        return self._session

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, data: Any = None
    ) -> Any:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        session = await self.session()
        try:
            async with session.request(method, self.url(path), params=query, data=data) as response:
                raw = await response.read()
                status, reason = response.status, response.reason or ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = str(exc) or type(exc).__name__
            raise GatewayConnectionError(f"cannot reach {self.base_url}: {detail}") from exc
        if status >= 400:
            raise error_for(status, raw, reason)
        return json.loads(raw) if raw else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
