"""A fake Asterisk + far end for the dispatcher tests, built on the fake AMI server.

`FakeAsterisk` answers each Originate like the sandbox (tests/sandbox/README.md): the last
digit of the dialled number decides the outcome, and the events are the ones a real
Asterisk 22 sends (tests/transcripts/answered_and_busy.ami):

    0-4  Newchannel, Newstate Ringing, Newstate Up, OriginateResponse Success/4,
         then after `talk` seconds Hangup 16 Normal Clearing (ChannelState 6)
    5    OriginateResponse Failure/0, then Hangup 17 User busy / 486
    6    Hangup 19 User alerting, no answer / 480, then OriginateResponse Failure/0
    7    OriginateResponse Failure/0, then Hangup 21 Call Rejected / 603
    8    Hangup 1 Unallocated (unassigned) number / 404, then OriginateResponse Failure/0
    9    rings; after `ring_timeout` (standing for the Originate Timeout)
         OriginateResponse Failure/3, then Hangup 19 / 480

It keeps what a test measures: every Originate with its arrival time and connection, and
every accepted call as an interval from the Originate's Success until its Hangup was sent
(or until it vanished), so the peak of simultaneously live calls can be computed for any
group of calls. `hold_answered` / `hold_ringing` keep calls up until the test acts on them
(`answer`, `hang_up`, `vanish`); `go_down` / `come_up` take the whole AMI service away
and back; `login_gate` delays answering Login.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.ami.protocol import Message
from tests.fakes.ami_server import FakeAmiServer

# digit -> (OriginateResponse Reason, Hangup Cause, Cause-txt, TechCause, response first)
FAILURES: dict[str, tuple[str, str, str, str, bool]] = {
    "5": ("0", "17", "User busy", "486", True),
    "6": ("0", "19", "User alerting, no answer", "480", False),
    "7": ("0", "21", "Call Rejected", "603", True),
    "8": ("0", "1", "Unallocated (unassigned) number", "404", False),
    "9": ("3", "19", "User alerting, no answer", "480", True),
}
# What the dispatcher must store per digit: (status, last_outcome, cause, cause text, sip)
EXPECTED: dict[str, tuple[str, str, int, str, str | None]] = {
    **{d: ("completed", "answered", 16, "Normal Clearing", None) for d in "01234"},
    "5": ("failed", "busy", 17, "User busy", "486"),
    "6": ("failed", "no_answer", 19, "User alerting, no answer", "480"),
    "7": ("failed", "rejected", 21, "Call Rejected", "603"),
    "8": ("failed", "invalid_number", 1, "Unallocated (unassigned) number", "404"),
    "9": ("failed", "no_answer", 19, "User alerting, no answer", "480"),
}


def number(index: int, digit: int | str) -> str:
    """A valid E.164 number whose last digit picks the far end's answer."""
    return f"+1415555{index % 1000:03d}{digit}"


def digit_of(phone: str) -> str:
    return phone[-1]


def variables(action: Message) -> dict[str, str]:
    """The Originate's `Variable` headers as name -> raw (still escaped) value."""
    out = {}
    for item in action.get_all("Variable"):
        name, _, value = item.partition("=")
        out[name] = value
    return out


@dataclass
class Arrival:
    """One Originate as it reached the fake."""

    at: float  # time.monotonic()
    wall: float  # time.time()
    connection: int  # 1 for the first connection accepted, 2 for the next...
    action: Message

    @property
    def attempt_id(self) -> str:
        return self.action.get("ActionID", "")

    @property
    def variables(self) -> dict[str, str]:
        return variables(self.action)

    @property
    def phone(self) -> str:
        return self.variables.get("GATEWAY_PHONE_NUMBER", "")

    @property
    def campaign_id(self) -> str:
        return self.variables.get("CAMPAIGN_ID", "")


@dataclass
class FakeCall:
    id: str
    phone: str
    campaign_id: str
    channel: str
    started: int  # sequence number when the Originate was accepted
    ended: int | None = None  # sequence number when the Hangup was sent / the call vanished
    answered: bool = False
    entry: dict[str, str] = field(default_factory=dict)  # its CoreShowChannel item

    @property
    def digit(self) -> str:
        return digit_of(self.phone)


class FakeAsterisk(FakeAmiServer):
    def __init__(self, *, talk: float = 0.2, ring: float = 0.02, ring_timeout: float = 0.1):
        super().__init__()
        self.talk = talk
        self.ring = ring
        self.ring_timeout = ring_timeout
        self.hold_answered = False  # answered calls stay up until hang_up()
        self.hold_ringing = False  # digit 9 rings until answer()/hang_up()
        self.unanswered_numbers: set[str] = set()  # Originate recorded, never answered
        self.login_gate = asyncio.Event()
        self.login_gate.set()
        self.originates: list[Arrival] = []
        self.calls: dict[str, FakeCall] = {}
        self.log: list[tuple[int, str]] = []  # (connection, action name), in order
        self.on_originate: list[Callable[[Message], None]] = []
        self.originate_script = self._accept
        self._seq = itertools.count(1)
        self._connection_of: dict[Any, int] = {}
        self._plays: set[asyncio.Task[None]] = set()
        self._port = 0
        self.down = False

    # -- service up and down ---------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        self._port = super().port

    @property
    def port(self) -> int:
        return self._port

    async def go_down(self) -> None:
        """Asterisk goes away: stop listening and close every connection."""
        self.down = True
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await self.drop()

    async def come_up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        self.down = False

    async def close(self) -> None:
        for task in list(self._plays):
            task.cancel()
        await asyncio.gather(*self._plays, return_exceptions=True)
        if self.down:
            self._server = None
        await super().close()

    @property
    def listeners(self) -> int:
        """Connections logged in now (who hears the events)."""
        return len(self._logged_in)

    # -- actions ---------------------------------------------------------------------

    async def _answer(self, action: Message, writer: asyncio.StreamWriter) -> bool:
        name = action.get("Action", "").lower()
        connection = self._connection_of.setdefault(writer, len(self._connection_of) + 1)
        self.log.append((connection, name))
        if name == "login" and not self.login_gate.is_set():
            await self.login_gate.wait()
        if name == "originate":  # also one sent before logging in (refused by the base)
            self.originates.append(Arrival(time.monotonic(), time.time(), connection, action))
            for hook in self.on_originate:
                hook(action)
            if variables(action).get("GATEWAY_PHONE_NUMBER") in self.unanswered_numbers:
                return True  # recorded, never answered: the gateway cannot know if it was sent
        return await super()._answer(action, writer)

    def _accept(self, action: Message) -> list[dict[str, str]]:
        """Called as the Originate's Success is written: the call is live from here."""
        attempt = action["ActionID"]
        assert attempt not in self.calls, f"a second Originate for {attempt}"
        found = variables(action)
        call = FakeCall(
            id=attempt,
            phone=found.get("GATEWAY_PHONE_NUMBER", ""),
            campaign_id=found.get("CAMPAIGN_ID", ""),
            channel=f"PJSIP/carrier-{len(self.calls):08x}",
            started=next(self._seq),
        )
        call.entry = {
            "Channel": call.channel,
            "ChannelState": "5",
            "ChannelStateDesc": "Ringing",
            "Context": "from-trunk",
            "Uniqueid": attempt,
            "Linkedid": attempt,
            "Application": "AppDial2",
            "Duration": "00:00:00",
        }
        self.calls[attempt] = call
        self.channels.append(call.entry)
        task = asyncio.get_running_loop().create_task(self._play(call))
        self._plays.add(task)
        task.add_done_callback(self._plays.discard)
        return []

    async def _play(self, call: FakeCall) -> None:
        await self.send_event(self._event(call, "Newchannel", ChannelState="0",
                                          ChannelStateDesc="Down"))  # fmt: skip
        digit = call.digit
        if digit in "01234":
            await self.send_event(self._event(call, "Newstate", ChannelState="5",
                                              ChannelStateDesc="Ringing"))  # fmt: skip
            await asyncio.sleep(self.ring)
            await self.answer(call.id)
            if self.hold_answered:
                return
            await asyncio.sleep(self.talk)
        elif digit == "9":
            await self.send_event(self._event(call, "Newstate", ChannelState="5",
                                              ChannelStateDesc="Ringing"))  # fmt: skip
            if self.hold_ringing:
                return
            await asyncio.sleep(self.ring_timeout)
        else:
            await asyncio.sleep(self.ring)
        await self.hang_up(call.id)

    # -- what a test can do to a call ------------------------------------------------

    async def answer(self, attempt: str) -> None:
        call = self.calls[attempt]
        assert call.ended is None and not call.answered
        call.answered = True
        call.entry.update(ChannelState="6", ChannelStateDesc="Up", Context="campaign",
                          Application="Wait")  # fmt: skip
        await self.send_event(self._event(call, "Newstate", ChannelState="6",
                                          ChannelStateDesc="Up"))  # fmt: skip
        await self.send_event(self._response(call, "Success", "4"))

    async def hang_up(self, attempt: str) -> None:
        """End the call now and send what Asterisk would (to whoever is listening)."""
        call = self.calls[attempt]
        assert call.ended is None
        self._ended(call)
        if call.answered:
            await self.send_event(self._hangup(call, "16", "Normal Clearing", None))
            return
        reason, cause, text, tech, response_first = FAILURES.get(
            call.digit, ("1", "16", "Normal Clearing", None, True)
        )
        events = [self._response(call, "Failure", reason), self._hangup(call, cause, text, tech)]
        for event in events if response_first else reversed(events):
            await self.send_event(event)

    async def user_event(self, attempt: str, name: str, **headers: str) -> None:
        """The dialplan's UserEvent(name,Header: value...) on the call's channel."""
        call = self.calls[attempt]
        await self.send_event(self._event(call, "UserEvent", UserEvent=name, **headers))

    def vanish(self, attempt: str) -> None:
        """The call ends and nobody hears of it (the gateway is away)."""
        self._ended(self.calls[attempt])

    def _ended(self, call: FakeCall) -> None:
        call.ended = next(self._seq)
        with contextlib.suppress(ValueError):
            self.channels.remove(call.entry)

    # -- events ----------------------------------------------------------------------

    def _event(self, call: FakeCall, name: str, **headers: str) -> dict[str, str]:
        return {
            "Event": name,
            "Privilege": "call,all",
            "Channel": call.channel,
            **headers,
            "CallerIDNum": "+15551230000",
            "Uniqueid": call.id,
            "Linkedid": call.id,
        }

    def _response(self, call: FakeCall, response: str, reason: str) -> dict[str, str]:
        return {
            "Event": "OriginateResponse",
            "Privilege": "call,all",
            "ActionID": call.id,
            "Response": response,
            "Channel": call.channel if response == "Success" else f"PJSIP/{call.phone}@carrier",
            "Reason": reason,
            "Uniqueid": call.id,
        }

    def _hangup(self, call: FakeCall, cause: str, text: str, tech: str | None) -> dict[str, str]:
        state = ("6", "Up") if call.answered else ("0", "Down")
        event = self._event(call, "Hangup", ChannelState=state[0], ChannelStateDesc=state[1])
        event |= {"Cause": cause, "Cause-txt": text}
        if tech is not None:
            event["TechCause"] = tech
        return event

    # -- measurements ----------------------------------------------------------------

    def live(self, where: Callable[[FakeCall], bool] = lambda call: True) -> list[FakeCall]:
        return [c for c in self.calls.values() if c.ended is None and where(c)]

    def max_live(self, where: Callable[[FakeCall], bool] = lambda call: True) -> int:
        """The most calls of the group live at once, Originate accepted → Hangup sent."""
        steps = []
        for call in self.calls.values():
            if where(call):
                steps.append((call.started, 1))
                if call.ended is not None:
                    steps.append((call.ended, -1))
        peak = live = 0
        for _, step in sorted(steps):
            live += step
            peak = max(peak, live)
        return peak

    def arrivals(self, where: Callable[[Arrival], bool] = lambda a: True) -> list[Arrival]:
        return [a for a in self.originates if where(a)]


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most timestamps in any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = first = 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - window:
            first += 1
        best = max(best, last - first + 1)
    return best


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    within: float = 5.0,
    what: str | Callable[[], Any] = "",
) -> None:
    """Poll `check` (sync or async) every 10 ms until true; fail with `what` after `within`."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"not true within {within} s: {detail}")
        await asyncio.sleep(0.01)
