"""Replay a transcript recorded from a real Asterisk 22 through the real parser and mapping.

`tests/transcripts/answered_and_busy.ami` is expected to hold the raw bytes Asterisk sent
on the AMI socket (greeting included) while one call was answered and one got busy.
Responses and the client's own actions, if the recording has them, are harmless: the
client ignores responses it is not waiting for.
"""

from __future__ import annotations

from pathlib import Path

from gateway.ami.protocol import AmiParser, Message
from gateway.ami.telephony import AmiTelephony
from gateway.domain.calls import (
    CallAnswered,
    CallEnded,
    CallEvent,
    OptedOut,
    OriginateRequest,
)
from tests.fakes.ami_server import FakeAmiServer
from tests.unit.ami.support import until

TRANSCRIPT = Path(__file__).resolve().parents[2] / "transcripts" / "answered_and_busy.ami"

# Recorded from the sandbox Asterisk 22 (tests/integration/test_sandbox.py --record).


def parse(data: bytes, chunk: int) -> list[Message]:
    parser = AmiParser()
    messages: list[Message] = []
    for i in range(0, len(data), chunk):
        messages += parser.feed(data[i : i + chunk])
    return messages


def attempt_ids(messages: list[Message]) -> list[str]:
    ids: list[str] = []
    for m in messages:
        aid = m.get("ActionID")
        if m.get("Event") == "OriginateResponse" and aid and aid not in ids:
            ids.append(aid)
    return ids


def test_transcript_parses_the_same_in_any_chunking() -> None:
    data = TRANSCRIPT.read_bytes()
    whole = parse(data, len(data) or 1)
    assert any(m.get("Event") == "Hangup" for m in whole)
    assert attempt_ids(whole), "no OriginateResponse in the transcript"
    for chunk in (1, 2, 3, 7, 64, 1000):
        assert parse(data, chunk) == whole


async def test_transcript_drives_the_call_events(
    server: FakeAmiServer, telephony: AmiTelephony
) -> None:
    data = TRANSCRIPT.read_bytes()
    ids = attempt_ids(parse(data, len(data)))
    events: list[CallEvent] = []
    telephony.on_call_event(events.append)
    for aid in ids:
        await telephony.originate(
            OriginateRequest(aid, "PJSIP/1@carrier", "100", "campaign", "s", 1, 30000)
        )
    await server.send_raw(data)
    await until(lambda: sum(isinstance(e, CallEnded) for e in events) >= len(ids))

    ended = {e.attempt_id: e for e in events if isinstance(e, CallEnded)}
    assert set(ended) == set(ids)
    assert sum(isinstance(e, CallEnded) for e in events) == len(ids)  # once each
    answered = [e for e in ended.values() if e.answered]
    busy = [e for e in ended.values() if not e.answered]
    assert answered and busy
    for end in answered:
        assert events.index(CallAnswered(end.attempt_id)) < events.index(end)
        assert end.cause == 16
    for end in busy:
        assert end.cause == 17
        assert end.tech_cause in ("486", "")
    assert telephony.tracked() == set()


OPT_OUT = TRANSCRIPT.parent / "opt_out.ami"  # recorded: +44 20 7946 0001 presses 9


async def replay_opt_out(
    server: FakeAmiServer, telephony: AmiTelephony, data: bytes
) -> list[CallEvent]:
    """Originate the recorded attempt, replay the transcript: the call events heard."""
    events: list[CallEvent] = []
    telephony.on_call_event(events.append)
    await telephony.originate(
        OriginateRequest("optout-1", "PJSIP/1@carrier", "100", "campaign", "s", 1, 30000)
    )
    await server.send_raw(data)
    await until(lambda: any(isinstance(e, CallEnded) for e in events))
    return events


async def test_opt_out_user_event_reaches_the_dialler_before_the_end(
    server: FakeAmiServer, telephony: AmiTelephony
) -> None:
    data = OPT_OUT.read_bytes()
    assert b"UserEvent: GatewayOptOut" in data
    assert await replay_opt_out(server, telephony, data) == [
        CallAnswered("optout-1"),
        OptedOut("optout-1"),
        CallEnded("optout-1", True, 16, "Normal Clearing", "", 4),
    ]


async def test_a_user_event_of_another_name_is_ignored(
    server: FakeAmiServer, telephony: AmiTelephony
) -> None:
    renamed = OPT_OUT.read_bytes().replace(b"UserEvent: GatewayOptOut", b"UserEvent: Other")
    events = await replay_opt_out(server, telephony, renamed)
    assert [type(e) for e in events] == [CallAnswered, CallEnded]
