"""Python client for the campaign gateway's HTTP API.

    from gateway.client import Client

    with Client("http://127.0.0.1:8080", api_key) as client:
        with open("contacts.csv", "rb") as csv:
            campaign = client.campaigns.create("Spring reminders", contacts=csv)
        client.campaigns.start(campaign["id"])
        for event in client.campaigns.stream_events(campaign["id"]):
            print(event.event, event.data)

`AsyncClient` is the implementation (aiohttp); `Client` is its blocking twin, which runs the
same code on a private event loop in a background thread. Campaigns and contacts come back
as the server's JSON (plain dicts). Errors raise `GatewayError` subclasses carrying the HTTP
`status` and the server's `message`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar
from urllib.parse import quote

import aiohttp
import structlog

from gateway import __version__

# A library logs through the standard logging module, so the application decides where it
# goes (structlog's default would print to stdout); structlog renders key=value text.
log = structlog.wrap_logger(
    logging.getLogger(__name__),
    wrapper_class=structlog.stdlib.BoundLogger,
    processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
)

T = TypeVar("T")
Contacts = BinaryIO | IO[bytes] | bytes | bytearray | str | os.PathLike[str]

DEFAULT_TIMEOUT = 30.0
STREAM_READ_TIMEOUT = 45.0  # the server sends a heartbeat every 15 s: three missed ones
MAX_RECONNECT_DELAY = 10.0


class GatewayError(Exception):
    """An API call failed. `status` is the HTTP status (None when no response came)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message if status is None else f"{status}: {message}")
        self.message = message
        self.status = status
        self.body = body if isinstance(body, dict) else {}


class GatewayConnectionError(GatewayError):
    """The gateway could not be reached, or the connection broke."""


class BadRequestError(GatewayError):
    """400: `field` names the offending form field or parameter, `row` the CSV row."""

    @property
    def field(self) -> str | None:
        return self.body.get("field")

    @property
    def row(self) -> int | None:
        return self.body.get("row")


class AuthenticationError(GatewayError):
    """401: missing, wrong or revoked API key."""


class NotFoundError(GatewayError):
    """404: no such campaign (or it belongs to another tenant)."""


class ConflictError(GatewayError):
    """409: not allowed in the campaign's current state, or over the tenant's budget."""


class ServerError(GatewayError):
    """5xx."""


_BY_STATUS: dict[int, type[GatewayError]] = {400: BadRequestError, 401: AuthenticationError}
_BY_STATUS.update({404: NotFoundError, 409: ConflictError})


def error_for(status: int, raw: bytes, reason: str = "") -> GatewayError:
    """The typed exception for an error response (body `{"error": ...}` when JSON)."""
    try:
        body = json.loads(raw)
        message = str(body["error"])
    except (ValueError, TypeError, KeyError):
        body, message = None, raw.decode("utf-8", "replace").strip()[:500] or reason
    kind = ServerError if status >= 500 else _BY_STATUS.get(status, GatewayError)
    return kind(message or f"HTTP {status}", status, body)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event: `id` is set on stored (replayable) events only."""

    id: int | None
    event: str
    data: dict[str, Any]


class SSEParser:
    """text/event-stream, line by line (WHATWG rules: `id` without data still counts)."""

    def __init__(self) -> None:
        self.last_id: int | None = None
        self._id: int | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        """Take one line (without its end of line); return an event when one completes."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment: the heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and value.isdigit():
            self._id = int(value)
        return None

    def _dispatch(self) -> Event | None:
        event_id, self._id = self._id, None
        if event_id is not None:
            self.last_id = event_id
        name, self._event = self._event or "message", ""
        if not self._data:
            return None
        text, self._data = "\n".join(self._data), []
        try:
            data = json.loads(text)
        except ValueError:
            data = {"text": text}
        return Event(event_id, name, data if isinstance(data, dict) else {"value": data})


def _form_value(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name}: give a timezone-aware datetime")
        return value.isoformat()
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
    ) -> dict[str, Any]:
        """Upload `contacts` (a binary file, a path, or bytes: a CSV with a phone_number
        column) as a new draft campaign; the answer also carries an `import` report."""
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

    async def stream_events(
        self,
        campaign_id: str,
        last_event_id: int | None = None,
        *,
        max_retries: int = 5,
        retry_delay: float = 0.5,
    ) -> AsyncIterator[Event]:
        """The campaign's live events, until (and including) `end`. A dropped connection
        is re-opened with Last-Event-ID, so no stored event is lost or repeated; after
        `max_retries` failed attempts in a row (delays doubling from `retry_delay`) it
        raises GatewayConnectionError. Without `last_event_id` it starts from now."""
        last, failures = last_event_id, 0
        url = self._client.url(_path(campaign_id, "events"))
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


def _blocking(method: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    @functools.wraps(method)
    def call(self: Campaigns, *args: Any, **kwargs: Any) -> T:
        return self._client._run(method(self._async, *args, **kwargs))

    return call


async def _next(stream: AsyncIterator[T]) -> T:
    return await anext(stream)


class Campaigns:
    """`client.campaigns` of a `Client`: the `AsyncCampaigns` methods, blocking."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._async = client._async.campaigns

    list = _blocking(AsyncCampaigns.list)
    get = _blocking(AsyncCampaigns.get)
    create = _blocking(AsyncCampaigns.create)
    start = _blocking(AsyncCampaigns.start)
    pause = _blocking(AsyncCampaigns.pause)
    resume = _blocking(AsyncCampaigns.resume)
    stop = _blocking(AsyncCampaigns.stop)
    delete = _blocking(AsyncCampaigns.delete)
    list_contacts = _blocking(AsyncCampaigns.list_contacts)

    @functools.wraps(AsyncCampaigns.stream_events)
    def stream_events(self, campaign_id: str, *args: Any, **kwargs: Any) -> Iterator[Event]:
        stream = self._async.stream_events(campaign_id, *args, **kwargs)
        try:
            while True:
                try:
                    event = self._client._run(_next(stream))
                except StopAsyncIteration:
                    return
                yield event
        finally:
            # Fails only when interrupted mid-read: the loop's asyncgen hooks finalize it then.
            with contextlib.suppress(RuntimeError):
                self._client._run(stream.aclose())


class Client:
    """Blocking client: `AsyncClient` on a private event loop in a daemon thread."""

    def __init__(self, base_url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._async = AsyncClient(base_url, api_key, timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="gateway-client", daemon=True
        )
        self._thread.start()
        self.campaigns = Campaigns(self)

    @property
    def base_url(self) -> str:
        return self._async.base_url

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("the client is closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt: cancel the request on the loop too
            raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._async.close())
        self._run(self._loop.shutdown_asyncgens())
        self._run(self._loop.shutdown_default_executor())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
