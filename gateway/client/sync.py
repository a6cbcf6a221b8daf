"""`Client`, the blocking twin of `AsyncClient`: the same code on a private event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from gateway.client.aio import DEFAULT_TIMEOUT, AsyncCampaigns, AsyncClient
from gateway.client.dnc import AsyncDnc
from gateway.client.sse import Event

T = TypeVar("T")


def _blocking(method: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    @functools.wraps(method)
    def call(self: Campaigns | Dnc, *args: Any, **kwargs: Any) -> T:
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
    get_contact = _blocking(AsyncCampaigns.get_contact)

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


class Dnc:
    """`client.dnc` of a `Client`: the `AsyncDnc` methods, blocking."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._async = client._async.dnc

    list = _blocking(AsyncDnc.list)
    add = _blocking(AsyncDnc.add)
    add_file = _blocking(AsyncDnc.add_file)
    remove = _blocking(AsyncDnc.remove)


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
        self.dnc = Dnc(self)

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
