"""A small AMI server speaking the real wire format, for fast unit tests (no Asterisk).

It sends the greeting, checks Login (a wrong secret gets ``Authentication failed`` and the
connection is closed, as Asterisk does), answers Ping, Originate (Success or a scripted
Error, then scripted events) and CoreShowChannels (an event list), records every action
it receives, and can drop every connection or go silent (a half-open connection: the
socket stays open, nothing is answered).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping

from gateway.ami.protocol import AmiParser, Message

Headers = Mapping[str, str]
# Given an Originate action, return the events to send after its Success response.
OriginateScript = Callable[[Message], Iterable[Headers]]


def format_message(headers: Headers) -> bytes:
    """One AMI message as Asterisk writes it (no safety checks: tests may send anything)."""
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


class FakeAmiServer:
    def __init__(
        self,
        username: str = "gateway",
        secret: str = "s3cret-Secret",
        *,
        greeting: str = "Asterisk Call Manager/9.0.0",
    ) -> None:
        self.username = username
        self.secret = secret
        self.greeting = greeting
        self.actions: list[Message] = []  # every action received, on every connection
        self.connections = 0  # connections accepted so far
        self.logins = 0  # successful logins so far
        self.silent = False  # when True: read and record nothing, answer nothing
        self.originate_error: str | None = None  # answer Originate with this Error
        self.swallow: set[str] = set()  # action names never answered (recorded only)
        self.originate_script: OriginateScript | None = None
        self.channels: list[dict[str, str]] = []  # for CoreShowChannels
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._logged_in: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- control --------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def actions_named(self, name: str) -> list[Message]:
        return [a for a in self.actions if a.get("Action", "").lower() == name.lower()]

    async def send_event(self, headers: Headers) -> None:
        """Send one event to every logged-in connection."""
        await self.send_raw(format_message(headers))

    async def send_raw(self, data: bytes) -> None:
        for writer in list(self._logged_in):
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    def stop_reading(self) -> None:
        """Stop reading every connection: the client's writes back up (a stuck peer)."""
        for writer in self._writers:
            writer.transport.pause_reading()  # type: ignore[attr-defined]

    async def drop(self) -> None:
        """Close every connection at once (as if Asterisk restarted)."""
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.sleep(0)

    async def close(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- per connection -------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self._writers.add(writer)
        parser = AmiParser()
        try:
            writer.write(f"{self.greeting}\r\n".encode())
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                if self.silent:
                    continue
                for action in parser.feed(data):
                    self.actions.append(action)
                    if not await self._answer(action, writer):
                        return
        except ConnectionError:
            return
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            self._logged_in.discard(writer)
            writer.transport.abort()

    async def _answer(self, action: Message, writer: asyncio.StreamWriter) -> bool:
        """Answer one action; False closes the connection."""
        name = action.get("Action", "").lower()
        action_id = {"ActionID": action["ActionID"]} if "ActionID" in action else {}
        if action.get("Action", "") in self.swallow:
            return True
        if name == "login":
            if action.get("Username") == self.username and action.get("Secret") == self.secret:
                self.logins += 1
                self._logged_in.add(writer)
                writer.write(
                    format_message(
                        {"Response": "Success", **action_id, "Message": "Authentication accepted"}
                    )
                    + format_message({"Event": "FullyBooted", "Privilege": "system,all"})
                )
                return True
            writer.write(
                format_message(
                    {"Response": "Error", **action_id, "Message": "Authentication failed"}
                )
            )
            await writer.drain()
            return False
        if writer not in self._logged_in:
            writer.write(
                format_message(
                    {"Response": "Error", **action_id, "Message": "Authentication Required"}
                )
            )
            return True
        if name == "ping":
            writer.write(
                format_message(
                    {
                        "Response": "Success",
                        **action_id,
                        "Ping": "Pong",
                        "Timestamp": f"{time.time():.6f}",
                    }
                )
            )
        elif name == "originate":
            if self.originate_error is not None:
                reply = {"Response": "Error", **action_id, "Message": self.originate_error}
                writer.write(format_message(reply))
                return True
            reply = {"Response": "Success", **action_id, "Message": "Originate successfully queued"}
            writer.write(format_message(reply))
            if self.originate_script is not None:
                events = b"".join(format_message(e) for e in self.originate_script(action))
                writer.write(events)
        elif name == "coreshowchannels":
            out = [
                {"Response": "Success", **action_id, "EventList": "start"}
                | {"Message": "Channels will follow"}
            ]
            for channel in self.channels:
                out.append({"Event": "CoreShowChannel", **action_id, **channel})
            out.append(
                {"Event": "CoreShowChannelsComplete", **action_id, "EventList": "Complete"}
                | {"ListItems": str(len(self.channels))}
            )
            writer.write(b"".join(format_message(m) for m in out))
        elif name == "logoff":
            writer.write(format_message({"Response": "Goodbye", **action_id}))
            return False
        else:
            message = "Invalid/unknown command"
            writer.write(format_message({"Response": "Error", **action_id, "Message": message}))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return True
