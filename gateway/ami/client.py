"""A small asyncio AMI client: one connection, login, keep-alive, reconnect, nothing re-sent.

Rules it keeps (panoramisk 1.4, which it replaces, breaks the first four):
- every event goes to every handler registered with `add_event_handler`, whether or not
  it carries the ActionID of a pending action (so an `OriginateResponse` is never eaten
  by the Originate that caused it); events of an event list are also collected for it;
- a `Ping` every `ping_interval` must be answered within `ping_timeout`, else the
  connection is dropped: a half-open connection is noticed within seconds;
- when a connection ends, every pending action fails with `AmiDisconnected` and nothing
  is ever re-sent; the caller decides what a lost action means;
- reconnects back off exponentially with jitter; wrong credentials are logged once per
  state change and retried slowly;
- the secret never appears in a log line or a repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import structlog

from gateway.ami.errors import (
    AmiActionTimeout,
    AmiDisconnected,
    AmiError,
    AmiNotConnected,
    AmiState,
    describe,
    redact,
)
from gateway.ami.protocol import AmiParser, Message, encode_action

__all__ = [
    "AmiActionTimeout",
    "AmiClient",
    "AmiDisconnected",
    "AmiError",
    "AmiNotConnected",
    "AmiState",
    "EventHandler",
    "redact",
]

log = structlog.get_logger(__name__)

EventHandler = Callable[[Message], None]
AUTH_FAILED = "authentication failed"


class _AuthFailed(Exception):
    pass


class AmiClient:
    """One AMI connection kept alive in the background. Create it inside the event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        events: str = "on",
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        action_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        write_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        auth_retry_interval: float = 30.0,
        stable_after: float = 10.0,
        node: str = "",
    ) -> None:
        self.host = host
        self.node = node  # the Asterisk node's id, in every log line of this connection
        self.logger = log.bind(node=node) if node else log
        self.port = port
        self.username = username
        self._secret = secret
        self._events = events
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.auth_retry_interval = auth_retry_interval
        self.stable_after = stable_after

        self._state = AmiState()
        self._state_callbacks: list[Callable[[AmiState], None]] = []
        self._handlers: list[EventHandler] = []
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._lists: dict[str, Message] = {}  # ActionID -> response, collecting events
        self._ids = itertools.count(1)
        self._id_prefix = f"gw{id(self) & 0xFFFF:x}-"
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._logged_in = asyncio.Event()

    def __repr__(self) -> str:
        return f"AmiClient({self.host}:{self.port}, user={self.username!r}, {self._state})"

    # -- public API ---------------------------------------------------------------------

    @property
    def state(self) -> AmiState:
        return self._state

    @property
    def logged_in(self) -> bool:
        return self._state.logged_in

    def on_state_change(self, callback: Callable[[AmiState], None]) -> None:
        """Call `callback(state)` on every change of `state` (in the event loop)."""
        self._state_callbacks.append(callback)

    def add_event_handler(self, handler: EventHandler) -> None:
        """Call `handler(message)` for every event received. It must not block."""
        self._handlers.append(handler)

    def remove_event_handler(self, handler: EventHandler) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.remove(handler)

    async def start(self) -> None:
        """Begin connecting in the background. Never raises for an unreachable Asterisk."""
        if self._task is None and not self._closing:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ami-client")

    async def wait_logged_in(self) -> None:
        """Wait until logged in (wrap it in `asyncio.timeout`)."""
        await self._logged_in.wait()

    async def send_action(
        self, action: Mapping[str, str | Sequence[str]], response_timeout: float | None = None
    ) -> Message:
        """Send one action and return its response.

        If the response says ``EventList: start``, return it once the list is complete,
        with the list's events (the closing ``...Complete`` event included) in `.events`.
        An ``ActionID`` is added when missing. Raises `UnsafeAction` (a ValueError, nothing
        sent), `AmiNotConnected` (nothing sent), `AmiDisconnected` or `AmiActionTimeout`
        (the action may have reached Asterisk). Never re-sent. `response_timeout` defaults
        to `action_timeout` and covers a whole event list.
        """
        if not self._state.logged_in:
            encode_action(action)  # refuse unsafe input first, whatever the connection
            raise AmiNotConnected("AMI is not logged in")
        if response_timeout is None:
            response_timeout = self.action_timeout
        return await self._request(action, response_timeout)

    async def close(self) -> None:
        """Stop reconnecting, drop the connection, fail pending actions, end all tasks."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._teardown("closed")

    # -- requests -----------------------------------------------------------------------

    async def _request(
        self, action: Mapping[str, str | Sequence[str]], response_timeout: float
    ) -> Message:
        action_id = action.get("ActionID")
        if action_id is None:
            action_id = f"{self._id_prefix}{next(self._ids)}"
            action = {**action, "ActionID": action_id}
        elif not isinstance(action_id, str):
            raise ValueError("ActionID must be a str")
        data = encode_action(action)
        writer = self._writer
        if writer is None or writer.transport.is_closing():
            raise AmiNotConnected("AMI is not connected")
        if action_id in self._pending:
            raise ValueError(f"an action with ActionID {action_id!r} is already pending")
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        try:
            writer.write(data)
            if writer.transport.get_write_buffer_size():
                await self._drain(writer)
            try:
                async with asyncio.timeout(response_timeout):
                    return await future
            except TimeoutError:
                if future.done() and not future.cancelled():
                    return future.result()
                raise AmiActionTimeout(
                    f"no response to {action.get('Action')} in {response_timeout:g} s"
                ) from None
        finally:
            if self._pending.get(action_id) is future:
                del self._pending[action_id]
            self._lists.pop(action_id, None)

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.write_timeout):
                await writer.drain()
        except TimeoutError:
            self.logger.warning("ami.write_timeout", timeout=self.write_timeout)
            writer.transport.abort()
            raise AmiDisconnected("AMI write timed out; connection dropped") from None
        except ConnectionError as exc:
            raise AmiDisconnected(f"AMI connection lost: {exc}") from None

    # -- reading ------------------------------------------------------------------------

    def _dispatch(self, message: Message) -> None:
        if "Event" in message:
            if self._lists:
                self._collect(message)
            for handler in self._handlers:
                try:
                    handler(message)
                except Exception:
                    self.logger.exception(
                        "ami.event_handler_failed", ami_event=message.get("Event")
                    )
            return
        action_id = message.get("ActionID")
        future = self._pending.get(action_id) if action_id is not None else None
        if future is None or future.done():
            self.logger.debug("ami.unmatched_response", action_id=action_id)
            return
        if message.get("EventList", "").lower() == "start":
            self._lists[action_id] = message  # type: ignore[index]
            message.events = []
        else:
            future.set_result(message)

    def _collect(self, event: Message) -> None:
        action_id = event.get("ActionID")
        response = self._lists.get(action_id) if action_id is not None else None
        if response is None:
            return
        events = response.events
        assert isinstance(events, list)
        events.append(event)
        if event.get("EventList", "").lower() == "complete":
            del self._lists[action_id]  # type: ignore[arg-type]
            future = self._pending.get(action_id)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(response)

    async def _read_loop(self, reader: asyncio.StreamReader, parser: AmiParser) -> None:
        dispatch = self._dispatch
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    return
                for message in parser.feed(data):
                    dispatch(message)
        finally:
            # At once, not when the session task wakes: no action is written after this.
            self._fail_pending("connection lost")
            self._set_state(connected=False, logged_in=False)

    # -- connection life cycle ----------------------------------------------------------

    def _set_state(self, **changes: object) -> None:
        new = replace(self._state, **changes)  # type: ignore[arg-type]
        if new == self._state:
            return
        self._state = new
        if new.logged_in:
            self._logged_in.set()
        else:
            self._logged_in.clear()
        for callback in list(self._state_callbacks):
            try:
                callback(new)
            except Exception:
                self.logger.exception("ami.state_callback_failed")

    def _set_error(
        self, error: str, level: str = "warning", event: str = "ami.error", **fields: object
    ) -> None:
        """Record `error`; log it only when it differs from the last one (no log floods)."""
        if error != self._state.last_error:
            getattr(self.logger, level)(event, error=error, host=self.host, port=self.port,
                                        **fields)  # fmt: skip
        else:
            self.logger.debug("ami.error_again", error=error)
        self._set_state(last_error=error)

    async def _run(self) -> None:
        failures = 0
        first = True
        while not self._closing:
            if not first:
                self._set_state(reconnects=self._state.reconnects + 1)
            first = False
            delay_floor = 0.0
            logged_in_at: float | None = None
            try:
                logged_in_at = await self._session()
            except _AuthFailed:
                self._set_error(
                    AUTH_FAILED, level="error", event="ami.auth_failed", username=self.username
                )
                delay_floor = self.auth_retry_interval
            except (OSError, TimeoutError, AmiError, EOFError) as exc:
                self._set_error(describe(exc))
            except ValueError:
                # encode_action refused the Login (e.g. a control character in the
                # secret); its message names the header, never the value.
                self._set_error("invalid AMI credentials in configuration", level="error")
                delay_floor = self.auth_retry_interval
            except Exception as exc:
                self.logger.exception("ami.session_failed")
                self._set_error(describe(exc))
            finally:
                await self._teardown("connection lost")
            if self._closing:
                return
            if logged_in_at is not None and time.monotonic() - logged_in_at >= self.stable_after:
                failures = 0
            delay = min(self.backoff_max, self.backoff_initial * 2**failures)
            delay = max(delay_floor, delay * random.uniform(0.75, 1.25))
            failures = min(failures + 1, 32)
            self.logger.debug("ami.reconnect_in", delay=round(delay, 3))
            await asyncio.sleep(delay)

    async def _session(self) -> float | None:
        """Connect, log in, then run until the connection ends. Returns the login time."""
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        self._set_state(connected=True)
        parser = AmiParser()
        loop = asyncio.get_running_loop()
        reader_task = loop.create_task(self._read_loop(reader, parser), name="ami-reader")
        ping_task: asyncio.Task[None] | None = None
        try:
            login = {
                "Action": "Login",
                "Username": self.username,
                "Secret": self._secret,
                "Events": self._events,
            }
            # The reader fails every pending action when the connection ends, so this
            # returns or raises promptly even if Asterisk hangs up during the login.
            self.logger.debug("ami.login", action=redact(login))
            response = await self._request(login, self.action_timeout)
            if response.get("Response") != "Success":
                if "auth" in response.get("Message", "").lower():
                    raise _AuthFailed
                raise AmiError(f"login refused: {response.get('Message', '')}")
            logged_in_at = time.monotonic()
            self.logger.info(
                "ami.logged_in", host=self.host, port=self.port, greeting=parser.greeting
            )
            self._set_state(logged_in=True, last_error="")
            ping_task = loop.create_task(self._ping_loop(), name="ami-ping")
            await asyncio.wait({reader_task, ping_task}, return_when=asyncio.FIRST_COMPLETED)
            if reader_task.done() and reader_task.exception() is None:
                self._set_error("connection closed by Asterisk")
            elif reader_task.done():
                self._set_error(describe(reader_task.exception()))
            return logged_in_at
        finally:
            for task in (reader_task, ping_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                elif task is not None and not task.cancelled():
                    task.exception()  # retrieved: no "exception never retrieved" warning

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._request({"Action": "Ping"}, self.ping_timeout)
            except AmiActionTimeout:
                self._set_error(f"no answer to Ping in {self.ping_timeout:g} s")
                return
            except AmiError:
                return  # the connection ended: the session reports why

    def _fail_pending(self, reason: str) -> None:
        pending = list(self._pending.values())
        self._pending.clear()
        self._lists.clear()
        for future in pending:
            if not future.done():
                future.set_exception(AmiDisconnected(f"AMI {reason} before the response"))
                future.exception()  # mark retrieved if its waiter is already gone

    async def _teardown(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        self._fail_pending(reason)
        if writer is not None:
            writer.transport.abort()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
        self._set_state(connected=False, logged_in=False)
