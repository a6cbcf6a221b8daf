"""The sandbox itself: the shipped asterisk-config/ on a real Asterisk 22, SIPp as the far end.

Needs a running sandbox (``eval "$(scripts/sandbox start)"``); fails, never skips, without
one. Uses only the standard library (a small raw AMI client below), no project code, so it
checks the ground the gateway stands on: the least-privilege AMI user, its event filter,
and the outcome SIPp gives per last digit of the dialled number (tests/sandbox/README.md).

Also records the raw AMI transcript used by parser tests:

    python tests/integration/test_sandbox.py --record tests/transcripts/answered_and_busy.ami
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

AMI_HOST = os.environ.get("GATEWAY_AMI_HOST", "127.0.0.1")
AMI_PORT = int(os.environ.get("GATEWAY_AMI_PORT", "5038"))
AMI_USERNAME = os.environ.get("GATEWAY_AMI_USERNAME", "gateway")
AMI_SECRET = os.environ.get("GATEWAY_AMI_SECRET", "gateway-sandbox-secret")

RING_TIMEOUT_MS = 5000
CALLER_ID = '"Gateway" <+15551230000>'
# What the shipped manager.conf lets through (plus action responses and their lists).
FILTERED_EVENTS = {
    "Newchannel",
    "Newstate",
    "OriginateResponse",
    "Hangup",
    "FullyBooted",
    "Shutdown",
    "UserEvent",  # GatewayAMD, GatewayOptOut only: tests/integration/test_sandbox_amd.py
}
LIST_EVENTS = {"CoreShowChannel", "CoreShowChannelsComplete"}


# --------------------------------------------------------------------------------------
# A raw AMI client: messages are dicts of the first value of each header.


@dataclass
class Ami:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    greeting: str = ""
    raw: bytearray = field(default_factory=bytearray)
    messages: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, host: str = AMI_HOST, port: int = AMI_PORT) -> Ami:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except OSError as exc:
            pytest.fail(
                f"no AMI on {host}:{port} ({exc}): start the sandbox first, "
                'eval "$(scripts/sandbox start)"'
            )
        ami = cls(reader, writer)
        line = await asyncio.wait_for(reader.readline(), 5)
        ami.raw.extend(line)
        ami.greeting = line.decode().strip()
        ami._task = asyncio.create_task(ami._read())
        return ami

    async def _read(self) -> None:
        current: dict[str, str] = {}
        while line := await self.reader.readline():
            self.raw.extend(line)
            text = line.decode().rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                current.setdefault(key, value)
                continue
            if current:
                self.messages.append((time.monotonic(), current))
                current = {}
                self._changed.set()

    def send(self, **headers: str | int) -> None:
        for value in headers.values():
            assert not any(c in str(value) for c in "\r\n")
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(lines.encode() + b"\r\n")

    async def wait_for(self, predicate, within: float = 15.0) -> dict[str, str]:
        """The first message (seen so far or later) for which predicate is true."""

        async def scan() -> dict[str, str]:
            seen = 0
            while True:
                for _, message in self.messages[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.messages)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), within)

    async def login(self, username: str = AMI_USERNAME, secret: str = AMI_SECRET) -> None:
        self.send(Action="Login", ActionID="login", Username=username, Secret=secret)
        reply = await self.wait_for(lambda m: m.get("ActionID") == "login", 5)
        assert reply["Response"] == "Success", f"AMI login refused: {reply}"

    async def close(self) -> None:
        self.writer.close()
        if self._task:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, ConnectionError):
                self._task.cancel()

    def events(self, name: str, uniqueid: str | None = None) -> list[dict[str, str]]:
        return [
            m
            for _, m in self.messages
            if m.get("Event") == name and (uniqueid is None or m.get("Uniqueid") == uniqueid)
        ]

    def originate(self, attempt_id: str, number: str, **extra: str) -> None:
        self.send(
            Action="Originate",
            ActionID=attempt_id,
            ChannelId=attempt_id,
            Channel=f"PJSIP/{number}@carrier",
            Context="campaign",
            Exten="s",
            Priority=1,
            Timeout=RING_TIMEOUT_MS,
            CallerID=CALLER_ID,
            Async="true",
            **extra,
        )


def is_event(name: str, uniqueid: str):
    return lambda m: m.get("Event") == name and m.get("Uniqueid") == uniqueid


# --------------------------------------------------------------------------------------
# One call per outcome digit, all at once; the tests below read what happened.

# digit: (OriginateResponse Response, Reason, Hangup Cause, Cause-txt, TechCause)
EXPECTED = {
    "0": ("Success", "4", "16", "Normal Clearing", None),
    "5": ("Failure", "0", "17", "User busy", "486"),
    "6": ("Failure", "0", "19", "User alerting, no answer", "480"),
    "7": ("Failure", "0", "21", "Call Rejected", "603"),
    "8": ("Failure", "0", "1", "Unallocated (unassigned) number", "404"),
    # Rings until the Originate Timeout: Asterisk CANCELs; cause 19 with SIP code 480.
    "9": ("Failure", "3", "19", "User alerting, no answer", "480"),
}


@dataclass
class Run:
    ami: Ami
    ids: dict[str, str]
    up_at: float
    channels_while_up: list[dict[str, str]]
    contact_id_in_dialplan: dict[str, str]
    pong: dict[str, str]
    refused: dict[str, dict[str, str]]


async def dial_every_outcome() -> Run:
    ami = await Ami.connect()
    try:
        await ami.login()
        await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", 5)
        ami.send(Action="Ping", ActionID="ping")
        pong = await ami.wait_for(lambda m: m.get("ActionID") == "ping", 5)

        run_tag = uuid.uuid4().hex[:8]
        ids = {digit: f"sbx-{run_tag}-{digit}" for digit in EXPECTED}
        for digit, attempt_id in ids.items():
            ami.originate(attempt_id, f"+1415555012{digit}", Variable=f"CONTACT_ID=c{digit}")
        for attempt_id in ids.values():
            reply = await ami.wait_for(
                lambda m, a=attempt_id: (
                    m.get("ActionID") == a and "Response" in m and "Event" not in m
                ),
                5,
            )
            assert reply["Response"] == "Success", reply

        # While the answered call is up: the live channel list and its channel variable.
        answered = ids["0"]
        await ami.wait_for(
            lambda m: is_event("Newstate", answered)(m) and m.get("ChannelState") == "6"
        )
        up_at = time.monotonic()
        # Up comes with the answer, a moment before Asterisk moves the channel from its
        # endpoint's context (from-trunk) into the Originate's: list again until it did.
        for listing in range(1, 21):
            csc = f"csc-{listing}"
            ami.send(Action="CoreShowChannels", ActionID=csc)
            await ami.wait_for(
                lambda m, a=csc: (
                    m.get("Event") == "CoreShowChannelsComplete" and m.get("ActionID") == a
                )
            )
            channels = [
                m
                for _, m in ami.messages
                if m.get("Event") == "CoreShowChannel" and m.get("ActionID") == csc
            ]
            if any(m.get("Uniqueid") == answered and m.get("Context") != "from-trunk"
                   for m in channels):  # fmt: skip
                break
            await asyncio.sleep(0.05)
        channel = ami.events("Newchannel", answered)[0]["Channel"]
        ami.send(Action="Getvar", ActionID="getvar", Channel=channel, Variable="CONTACT_ID")
        getvar = await ami.wait_for(lambda m: m.get("ActionID") == "getvar", 5)

        # Least privilege: what the gateway must not be able to do is refused.
        ami.send(Action="Command", ActionID="command", Command="core show version")
        ami.send(
            Action="Originate",
            ActionID="system",
            Channel="PJSIP/+14155550125@carrier",
            Application="System",
            Data="true",
            Async="true",
        )
        ami.send(Action="Hangup", ActionID="hangup", Channel="PJSIP/carrier-nonexistent")
        refused = {}
        for action_id in ("command", "system", "hangup"):
            refused[action_id] = await ami.wait_for(
                lambda m, a=action_id: m.get("ActionID") == a and "Event" not in m, 5
            )

        for attempt_id in ids.values():
            await ami.wait_for(is_event("Hangup", attempt_id), RING_TIMEOUT_MS / 1000 + 10)
            await ami.wait_for(is_event("OriginateResponse", attempt_id), 5)
        return Run(ami, ids, up_at, channels, getvar, pong, refused)
    finally:
        await ami.close()


@pytest.fixture(scope="module")
def run() -> Run:
    return asyncio.run(dial_every_outcome())


def test_login_greeting_and_ping(run: Run) -> None:
    assert run.ami.greeting.startswith("Asterisk Call Manager/")
    assert run.ami.events("FullyBooted")
    assert run.pong["Response"] == "Success"
    assert run.pong["Ping"] == "Pong"


@pytest.mark.parametrize("digit", sorted(EXPECTED))
def test_outcome_per_last_digit(run: Run, digit: str) -> None:
    response, reason, cause, cause_txt, tech_cause = EXPECTED[digit]
    attempt_id = run.ids[digit]
    [originate] = run.ami.events("OriginateResponse", attempt_id)
    [hangup] = run.ami.events("Hangup", attempt_id)
    assert originate["ActionID"] == attempt_id
    assert (originate["Response"], originate["Reason"]) == (response, reason)
    assert (hangup["Cause"], hangup["Cause-txt"], hangup.get("TechCause")) == (
        cause,
        cause_txt,
        tech_cause,
    )
    assert len(run.ami.events("Newchannel", attempt_id)) == 1
    answered = [m for m in run.ami.events("Newstate", attempt_id) if m["ChannelState"] == "6"]
    assert bool(answered) == (digit == "0")


def test_answered_call_talks_about_two_seconds(run: Run) -> None:
    [hangup] = [t for t, m in run.ami.messages if is_event("Hangup", run.ids["0"])(m)]
    assert 1.5 <= hangup - run.up_at <= 4.0


def test_ring_until_originate_timeout(run: Run) -> None:
    attempt_id = run.ids["9"]
    [created] = [t for t, m in run.ami.messages if is_event("Newchannel", attempt_id)(m)]
    [hangup] = [t for t, m in run.ami.messages if is_event("Hangup", attempt_id)(m)]
    assert RING_TIMEOUT_MS / 1000 - 0.5 <= hangup - created <= RING_TIMEOUT_MS / 1000 + 3


def test_core_show_channels_lists_the_live_call(run: Run) -> None:
    live = {m["Uniqueid"]: m for m in run.channels_while_up}
    assert run.ids["0"] in live
    assert live[run.ids["0"]]["ChannelState"] == "6"
    assert live[run.ids["0"]]["Context"] == "campaign"
    complete = run.ami.events("CoreShowChannelsComplete")[-1]  # of the last listing
    assert int(complete["ListItems"]) == len(run.channels_while_up)


def test_originate_variables_reach_the_dialplan(run: Run) -> None:
    reply = run.contact_id_in_dialplan
    assert reply["Response"] == "Success", reply
    assert reply["Value"] == "c0"


def test_event_filter_lets_only_the_gateway_events_through(run: Run) -> None:
    names = {m["Event"] for _, m in run.ami.messages if "Event" in m}
    assert names <= FILTERED_EVENTS | LIST_EVENTS, names - FILTERED_EVENTS - LIST_EVENTS
    assert {"Newchannel", "Newstate", "OriginateResponse", "Hangup", "FullyBooted"} <= names


def test_least_privilege(run: Run) -> None:
    assert run.refused["command"]["Response"] == "Error"
    assert run.refused["command"]["Message"] == "Permission denied"
    assert run.refused["system"]["Response"] == "Error"
    assert run.refused["system"]["Message"].startswith("Originate Access Forbidden")
    # Hangup is allowed: the channel just does not exist.
    assert run.refused["hangup"]["Message"] == "No such channel"


# --------------------------------------------------------------------------------------
# Transcript recorder (not a test).


async def record_transcript() -> bytes:
    """Greeting, login, ping, an answered call (digit 0) with a CoreShowChannels list while
    it is up, a busy call (digit 5), logoff: exactly the bytes Asterisk sent."""
    ami = await Ami.connect()
    try:
        await ami.login()
        await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", 5)
        ami.send(Action="Ping", ActionID="ping-1")
        await ami.wait_for(lambda m: m.get("ActionID") == "ping-1", 5)
        answered, busy = "attempt-answered-1", "attempt-busy-1"
        ami.originate(answered, "+14155550120", Variable="CONTACT_ID=1")
        await ami.wait_for(
            lambda m: is_event("Newstate", answered)(m) and m.get("ChannelState") == "6"
        )
        ami.send(Action="CoreShowChannels", ActionID="channels-1")
        await ami.wait_for(lambda m: m.get("Event") == "CoreShowChannelsComplete")
        ami.originate(busy, "+14155550125", Variable="CONTACT_ID=2")
        for attempt_id in (answered, busy):
            await ami.wait_for(is_event("Hangup", attempt_id))
            await ami.wait_for(is_event("OriginateResponse", attempt_id))
        ami.send(Action="Logoff", ActionID="logoff-1")
        await ami.wait_for(lambda m: m.get("ActionID") == "logoff-1", 5)
        await asyncio.wait_for(ami._task, 5)  # Asterisk closes the connection
    finally:
        await ami.close()
    return bytes(ami.raw)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--record":
        sys.exit(f"usage: {sys.argv[0]} --record PATH")
    transcript = asyncio.run(record_transcript())
    Path(sys.argv[2]).write_bytes(transcript)
    print(f"{sys.argv[2]}: {len(transcript)} bytes")
