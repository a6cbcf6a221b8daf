from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from gateway.ami.client import AmiClient
from gateway.ami.protocol import Message, UnsafeHeaderValue
from gateway.ami.telephony import AmiTelephony, escape_variable_value
from gateway.domain.calls import (
    CallAnswered,
    CallEnded,
    CallEvent,
    OriginateRefused,
    OriginateRequest,
    Telephony,
    TelephonyState,
    TelephonyUnavailable,
)
from tests.fakes.ami_server import FakeAmiServer
from tests.unit.ami.support import FAST, until

ATT = "att-0001"


def request(attempt_id: str = ATT, **changes: Any) -> OriginateRequest:
    fields: dict[str, Any] = {
        "attempt_id": attempt_id,
        "channel": "PJSIP/+14155550100@carrier",
        "caller_id": '"Acme" <+15551230000>',
        "context": "campaign",
        "extension": "s",
        "priority": 1,
        "timeout_ms": 30000,
        "variables": {},
    }
    return OriginateRequest(**(fields | changes))


def newchannel(uid: str = ATT) -> dict[str, str]:
    return {"Event": "Newchannel", "Uniqueid": uid, "ChannelState": "0", "Linkedid": uid}


def newstate(state: str, uid: str = ATT) -> dict[str, str]:
    return {"Event": "Newstate", "Uniqueid": uid, "ChannelState": state}


def hangup(cause: str, txt: str, tech: str | None = None, uid: str = ATT) -> dict[str, str]:
    event = {"Event": "Hangup", "Uniqueid": uid, "ChannelState": "5", "Cause": cause}
    event["Cause-txt"] = txt
    if tech is not None:
        event["TechCause"] = tech
    return event


def originate_response(
    ok: bool, reason: str, uid: str = ATT, action_id: str | None = None
) -> dict[str, str]:
    return {
        "Event": "OriginateResponse",
        "ActionID": action_id or (uid if uid != "<null>" else ATT),
        "Response": "Success" if ok else "Failure",
        "Channel": "PJSIP/+14155550100@carrier",
        "Reason": reason,
        "Uniqueid": uid,
    }


class Harness:
    def __init__(self, server: FakeAmiServer, telephony: AmiTelephony) -> None:
        self.server = server
        self.telephony = telephony
        self.events: list[CallEvent] = []
        self.states: list[TelephonyState] = []
        telephony.on_call_event(self.events.append)
        telephony.on_state_change(self.states.append)

    def script(self, *events: Mapping[str, str]) -> None:
        self.server.originate_script = lambda action: list(events)

    async def ended(self, count: int = 1, within: float = 2.0) -> list[CallEvent]:
        await until(lambda: sum(isinstance(e, CallEnded) for e in self.events) >= count, within)
        return self.events

    async def settle(self) -> None:
        """Let every event already sent by the server be read and mapped."""
        await self.telephony.client.send_action({"Action": "Ping"})


@pytest.fixture
async def harness(server: FakeAmiServer) -> AsyncIterator[Harness]:
    client = AmiClient("127.0.0.1", server.port, server.username, server.secret, **FAST)
    telephony = AmiTelephony(client, hangup_grace=0.1)
    h = Harness(server, telephony)
    await telephony.start()
    async with asyncio.timeout(2):
        await client.wait_logged_in()
    yield h
    await telephony.close()


def test_is_a_telephony() -> None:
    def port(t: Telephony) -> Telephony:
        return t

    port(AmiTelephony(AmiClient("127.0.0.1", 1, "u", "s")))


async def test_originate_action(harness: Harness) -> None:
    req = request(variables={"first_name": "Ann", "NOTE": 'a,b "c" (d) [e] \\f'})
    await harness.telephony.originate(req)
    [action] = harness.server.actions_named("Originate")
    assert action["ActionID"] == ATT
    assert action["ChannelId"] == ATT
    assert action["Channel"] == "PJSIP/+14155550100@carrier"
    assert action["Context"] == "campaign"
    assert action["Exten"] == "s"
    assert action["Priority"] == "1"
    assert action["Timeout"] == "30000"
    assert action["CallerID"] == '"Acme" <+15551230000>'
    assert action["Async"] == "true"
    assert action.get_all("Variable") == [
        "first_name=Ann",
        'NOTE=a\\,b \\"c\\" \\(d\\) \\[e\\] \\\\f',
    ]


def asterisk_separate_args(buf: str) -> list[str]:
    """Python model of Asterisk's __ast_app_separate_args(buf, ',', remove_chars=1)."""
    args, current, paren, bracket, quote, i = [], [], 0, 0, False, 0
    while i < len(buf):
        c = buf[i]
        if c == "(":
            paren += 1
        elif c == ")":
            paren = max(0, paren - 1)
        elif c == "[":
            bracket += 1
        elif c == "]":
            bracket = max(0, bracket - 1)
        elif c == '"':
            quote = not quote
            i += 1
            continue  # removed
        elif c == "\\":
            i += 1  # the backslash is removed, the next character taken literally
            if i < len(buf):
                current.append(buf[i])
            i += 1
            continue
        elif c == "," and not (paren or quote or bracket):
            args.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    args.append("".join(current))
    return args


@pytest.mark.parametrize(
    "value",
    ["plain", "a,b", 'say "hi"', "back\\slash", "(unbalanced", "x]y[", ",,,", "", "é, ü", "a=b"],
)
def test_escaped_value_survives_asterisk_argument_parsing(value: str) -> None:
    header = f"NAME={escape_variable_value(value)}"
    [pair] = asterisk_separate_args(header)
    name, _, parsed = pair.partition("=")
    assert (name, parsed) == ("NAME", value)


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "FILE(/etc/passwd)", "x" * 65, "é"])
async def test_unsafe_variable_names_refused(harness: Harness, name: str) -> None:
    with pytest.raises(ValueError):
        await harness.telephony.originate(request(variables={name: "v"}))
    assert harness.server.actions_named("Originate") == []
    assert harness.telephony.tracked() == set()


async def test_injection_in_values_refused(harness: Harness) -> None:
    for req in (
        request(variables={"A": "x\r\nAction: Hangup"}),
        request(caller_id="evil\nAction: Originate"),
        request(channel="PJSIP/1\x00"),
    ):
        with pytest.raises(UnsafeHeaderValue):
            await harness.telephony.originate(req)
    assert harness.server.actions_named("Originate") == []
    assert harness.telephony.tracked() == set()


async def test_answered_then_hangup(harness: Harness) -> None:
    harness.script(
        newchannel(),
        newstate("5"),
        newstate("6"),
        originate_response(True, "4"),
        newstate("6"),  # duplicate Up: still one CallAnswered
        hangup("16", "Normal Clearing"),
        originate_response(True, "4"),  # late duplicate: ignored, attempt already ended
    )
    await harness.telephony.originate(request())
    await harness.ended()
    await harness.settle()
    assert harness.events == [
        CallAnswered(ATT),
        CallEnded(ATT, answered=True, cause=16, cause_txt="Normal Clearing", originate_reason=4),
    ]
    assert harness.telephony.tracked() == set()


async def test_answered_by_originate_response_only(harness: Harness) -> None:
    harness.script(newchannel(), originate_response(True, "4"), hangup("16", "Normal Clearing"))
    await harness.telephony.originate(request())
    assert await harness.ended() == [
        CallAnswered(ATT),
        CallEnded(ATT, True, 16, "Normal Clearing", "", 4),
    ]


BUSY_END = CallEnded(ATT, False, 17, "User busy", "486", 0)


@pytest.mark.parametrize(
    "events",
    [
        # Hangup before OriginateResponse (the usual order)
        [
            newchannel(),
            newstate("5"),
            hangup("17", "User busy", "486"),
            originate_response(False, "0"),
        ],
        # Hangup after OriginateResponse Failure: wait for it, it carries the cause
        [
            newchannel(),
            newstate("5"),
            originate_response(False, "0"),
            hangup("17", "User busy", "486"),
        ],
    ],
    ids=["hangup-first", "response-first"],
)
async def test_busy_in_either_order(harness: Harness, events: list[dict[str, str]]) -> None:
    harness.script(*events)
    await harness.telephony.originate(request())
    await harness.ended()
    await harness.settle()
    expected = (
        BUSY_END
        if events[-1]["Event"] == "Hangup"
        else CallEnded(ATT, False, 17, "User busy", "486")
    )
    assert harness.events == [expected]
    assert harness.telephony.tracked() == set()


async def test_failure_with_channel_but_no_hangup_ends_after_grace(harness: Harness) -> None:
    harness.script(newchannel(), originate_response(False, "3"))
    with capture_logs() as logs:
        await harness.telephony.originate(request())
        await harness.settle()
        assert harness.events == []  # waiting for the Hangup
        await harness.ended(within=1)
    assert harness.events == [CallEnded(ATT, False, None, "", "", 3)]
    assert any(e["event"] == "ami.hangup_missing" for e in logs)


async def test_no_channel_created_ends_at_once(harness: Harness) -> None:
    harness.script(originate_response(False, "0", uid="<null>"))
    await harness.telephony.originate(request())
    assert await harness.ended(within=0.09) == [CallEnded(ATT, False, None, "", "", 0)]


async def test_hangup_without_tech_cause(harness: Harness) -> None:
    harness.script(newchannel(), hangup("19", "User alerting, no answer"))
    await harness.telephony.originate(request())
    assert await harness.ended() == [CallEnded(ATT, False, 19, "User alerting, no answer")]


async def test_hangup_of_an_up_channel_implies_answer(harness: Harness) -> None:
    up = hangup("16", "Normal Clearing") | {"ChannelState": "6"}
    harness.script(newchannel(), up)
    await harness.telephony.originate(request())
    assert await harness.ended() == [CallAnswered(ATT), CallEnded(ATT, True, 16, "Normal Clearing")]


async def test_untracked_events_are_ignored(harness: Harness) -> None:
    other = "1700000000.42"
    for event in (
        newchannel(other),
        newstate("6", other),
        hangup("16", "Normal Clearing", uid=other),
        originate_response(False, "0", uid=other) | {"ActionID": "someone-else"},
        {"Event": "VarSet", "Uniqueid": ATT},
        {"Event": "Hangup"},  # no Uniqueid at all
    ):
        await harness.server.send_event(event)
    await harness.settle()
    assert harness.events == []


async def test_originate_refused(harness: Harness) -> None:
    harness.server.originate_error = "Channel Unique ID att-0001 already in use"
    with pytest.raises(OriginateRefused, match="already in use"):
        await harness.telephony.originate(request())
    assert harness.telephony.tracked() == set()


async def test_originate_when_not_logged_in_is_not_sent(server: FakeAmiServer) -> None:
    telephony = AmiTelephony(AmiClient("127.0.0.1", server.port, "gateway", "x"))
    with pytest.raises(TelephonyUnavailable) as info:
        await telephony.originate(request())
    assert info.value.maybe_sent is False
    assert server.connections == 0
    assert telephony.tracked() == set()
    await telephony.close()


async def test_disconnect_before_response_is_maybe_sent(harness: Harness) -> None:
    harness.server.swallow = {"Originate"}
    task = asyncio.create_task(harness.telephony.originate(request()))
    await until(lambda: bool(harness.server.actions_named("Originate")))
    await harness.server.drop()
    with pytest.raises(TelephonyUnavailable) as info:
        await task
    assert info.value.maybe_sent is True
    assert harness.telephony.tracked() == {ATT}  # still followed, never re-sent
    await until(lambda: harness.telephony.state.logged_in)
    await harness.settle()
    assert len(harness.server.actions_named("Originate")) == 1
    with pytest.raises(ValueError):  # the same attempt cannot be dialled again here
        await harness.telephony.originate(request())
    harness.telephony.forget(ATT)
    assert harness.telephony.tracked() == set()


async def test_state_changes_are_forwarded(harness: Harness) -> None:
    assert harness.telephony.state == TelephonyState(connected=True, logged_in=True)
    before = len(harness.states)
    await harness.server.drop()
    await until(lambda: len(harness.states) > before and harness.states[-1].logged_in)
    assert any(not s.logged_in for s in harness.states[before:])
    assert harness.telephony.state.reconnects == 1


async def test_live_attempts_and_track(harness: Harness) -> None:
    harness.server.channels = [
        {"Channel": "PJSIP/carrier-1", "Uniqueid": "att-a", "ChannelState": "6"},
        {"Channel": "PJSIP/carrier-2", "Uniqueid": "att-b", "ChannelState": "5"},
        {"Channel": "PJSIP/alice-3", "Uniqueid": "1700000000.7", "ChannelState": "6"},
    ]
    assert await harness.telephony.live_attempts() == {"att-a", "att-b", "1700000000.7"}
    harness.telephony.track("att-a", answered=True)
    harness.telephony.track("att-b", answered=False)
    for event in (
        hangup("16", "Normal Clearing", uid="att-a"),
        newstate("6", uid="att-b"),
        hangup("16", "Normal Clearing", uid="att-b"),
    ):
        await harness.server.send_event(event)
    await harness.ended(2)
    assert harness.events == [
        CallEnded("att-a", True, 16, "Normal Clearing"),
        CallAnswered("att-b"),
        CallEnded("att-b", True, 16, "Normal Clearing"),
    ]


async def test_live_attempts_when_down(server: FakeAmiServer) -> None:
    telephony = AmiTelephony(AmiClient("127.0.0.1", server.port, "gateway", "x"))
    with pytest.raises(TelephonyUnavailable):
        await telephony.live_attempts()
    await telephony.close()


async def test_many_attempts_interleaved(harness: Harness) -> None:
    ids = [f"att-{i:04d}" for i in range(200)]

    def script(action: Message) -> Iterable[Mapping[str, str]]:
        uid = action["ActionID"]
        n = int(uid[4:])
        if n % 2:
            return [newchannel(uid), newstate("6", uid), originate_response(True, "4", uid)]
        return [
            newchannel(uid),
            hangup("17", "User busy", "486", uid),
            originate_response(False, "0", uid),
        ]

    harness.server.originate_script = script
    await asyncio.gather(*(harness.telephony.originate(request(i)) for i in ids))
    for uid in ids[1::2]:
        await harness.server.send_event(hangup("16", "Normal Clearing", uid=uid))
    events = await harness.ended(len(ids))
    ended = {e.attempt_id: e for e in events if isinstance(e, CallEnded)}
    assert set(ended) == set(ids)
    assert all(ended[i].answered == (int(i[4:]) % 2 == 1) for i in ids)
    assert sum(isinstance(e, CallAnswered) for e in events) == 100
    assert harness.telephony.tracked() == set()


async def test_consumer_errors_do_not_break_mapping(harness: Harness) -> None:
    seen: list[CallEvent] = []

    def consumer(event: CallEvent) -> None:
        seen.append(event)
        raise RuntimeError("consumer bug")

    harness.telephony.on_call_event(consumer)
    harness.script(newchannel(), newstate("6"), hangup("16", "Normal Clearing"))
    with capture_logs():
        await harness.telephony.originate(request())
        await until(lambda: len(seen) >= 2)
    assert harness.telephony.tracked() == set()
    assert harness.telephony.client.state.logged_in


def test_create_builds_the_client() -> None:
    telephony = AmiTelephony.create("127.0.0.1", 5038, "gw", "pw", hangup_grace=2, ping_interval=1)
    assert telephony.hangup_grace == 2
    assert telephony.client.ping_interval == 1
    assert "pw" not in repr(telephony.client)
    assert callable(getattr(telephony, "track"))  # noqa: B009


async def test_no_channel_grace_keeps_a_late_hangup(server: FakeAmiServer) -> None:
    client = AmiClient("127.0.0.1", server.port, server.username, server.secret, **FAST)
    telephony = AmiTelephony(client, hangup_grace=0.2, no_channel_grace=0.1)
    h = Harness(server, telephony)
    await telephony.start()
    await until(lambda: client.state.logged_in)
    try:
        # OriginateResponse overtakes Newchannel/Hangup: the Hangup still gives the cause.
        h.script(originate_response(False, "0"), newchannel(), hangup("20", "Subscriber absent"))
        await telephony.originate(request())
        assert await h.ended() == [CallEnded(ATT, False, 20, "Subscriber absent", "", 0)]
        # Nothing follows: ended after the short grace, without a cause.
        h.events.clear()
        h.script(originate_response(False, "0", uid="<null>", action_id="att-0002"))
        await telephony.originate(request("att-0002"))
        await h.settle()
        assert h.events == []
        assert await h.ended(within=1) == [CallEnded("att-0002", False, None, "", "", 0)]
        # A late Newchannel then no Hangup: waits the full hangup grace, then ends.
        h.events.clear()
        h.script(originate_response(False, "0", uid="att-0003"), newchannel("att-0003"))
        await telephony.originate(request("att-0003"))
        await asyncio.sleep(0.15)  # past the no-channel grace, inside the hangup grace
        assert h.events == []
        assert await h.ended(within=1) == [CallEnded("att-0003", False, None, "", "", 0)]
    finally:
        await telephony.close()
