"""The GatewayAMD UserEvent, from a transcript recorded on the sandbox's Asterisk 22
(`tests/integration/test_sandbox_amd.py --record tests/transcripts/amd_verdicts.ami`): a
person (+12025551000, HUMAN), a machine hung up on (+12025551101, MACHINE), a far end
that hung up during AMD() (+12025551200, HANGUP, raised by the h extension) and a silent
one (+12025551300, NOTSURE), recorded 2026-12-03 with the shipped dialplan and amd.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ami.amd import parse_amd_verdict
from gateway.ami.protocol import AmiParser, Message
from gateway.ami.telephony import AmiTelephony
from gateway.domain.calls import AmdVerdict, CallAnswered, CallEnded, CallEvent, OriginateRequest
from tests.fakes.ami_server import FakeAmiServer
from tests.unit.ami.support import until

ROOT = Path(__file__).resolve().parents[3]
TRANSCRIPT = ROOT / "tests" / "transcripts" / "amd_verdicts.ami"
# The dialplan writes the variables' own names, AMDSTATUS / AMDCAUSE (as recorded); an
# older one wrote AMDStatus / AMDCause: the same bytes with those header names.
MIXED = (
    TRANSCRIPT.read_bytes()
    .replace(b"\nAMDSTATUS: ", b"\nAMDStatus: ")
    .replace(b"\nAMDCAUSE: ", b"\nAMDCause: ")
)
CALLS = ("attempt-person-1", "attempt-machine-1", "attempt-hangup-1", "attempt-silent-1")


def messages(data: bytes | None = None) -> list[Message]:
    return AmiParser().feed(TRANSCRIPT.read_bytes() if data is None else data)


def verdicts(data: bytes | None = None) -> dict[str, AmdVerdict]:
    found = {}
    for message in messages(data):
        verdict = parse_amd_verdict(message)
        if verdict is not None:
            found[verdict.attempt_id] = verdict
    return found


def test_every_verdict_of_the_transcript_is_parsed() -> None:
    found = verdicts()
    assert set(found) == set(CALLS)
    person, machine, hangup, silent = (found[a] for a in CALLS)
    assert person.status == "HUMAN" and person.cause.startswith("HUMAN-")
    assert person.cause.endswith("-800")  # after_greeting_silence of amd.conf
    assert machine.status == "MACHINE"
    assert machine.cause.startswith(("LONGGREETING-", "MAXWORDS-"))
    assert (hangup.status, hangup.cause) == ("HANGUP", "")
    assert silent.status == "NOTSURE" and silent.cause.startswith(("TOOLONG-", "NOAUDIODATA-"))
    assert all(v.seconds is None for v in found.values())  # the parser hears no answer


def test_the_header_names_are_read_in_any_case() -> None:
    recorded = TRANSCRIPT.read_bytes()
    assert recorded.count(b"\nAMDSTATUS: ") == recorded.count(b"\nAMDCAUSE: ") == 4
    assert MIXED.count(b"\nAMDStatus: ") == MIXED.count(b"\nAMDCause: ") == 4
    assert b"AMDSTATUS" not in MIXED and b"AMDCAUSE" not in MIXED
    assert verdicts(MIXED) == verdicts() and len(verdicts()) == 4
    # The person's verdict (HANGUP's has an empty cause).
    [event] = [m for m in messages() if m.get("AttemptID") == CALLS[0]]
    assert "AMDSTATUS" in event and "AMDStatus" not in event
    assert parse_amd_verdict(event) == AmdVerdict(CALLS[0], "HUMAN", event["AMDCAUSE"])
    for names in [("amdstatus", "amdcause", "attemptid"), ("AmdStatus", "AmdCause", "ATTEMPTID")]:
        renamed = Message(
            {k: v for k, v in event.items() if k not in ("AMDSTATUS", "AMDCAUSE", "AttemptID")}
        )
        renamed.update(
            zip(names, (event["AMDSTATUS"], event["AMDCAUSE"], event["AttemptID"]), strict=True)
        )
        assert parse_amd_verdict(renamed) == parse_amd_verdict(event), names
        # An attempt id that disagrees, in whatever case its header is, is still no verdict.
        assert parse_amd_verdict(Message({**renamed, names[2]: "someone-else"})) is None
    # Without the status header, in any case, there is no verdict.
    assert parse_amd_verdict(Message({k: v for k, v in event.items() if k != "AMDSTATUS"})) is None


def test_the_shipped_dialplan_writes_the_variables_own_names() -> None:
    """Both UserEvent(GatewayAMD...) lines of [gateway-amd] (after AMD() and in h)."""
    dialplan = (ROOT / "asterisk-config" / "extensions.conf").read_text()
    lines = [line for line in dialplan.splitlines() if "UserEvent(GatewayAMD," in line]
    assert len(lines) == 2, lines
    for line in lines:
        assert "AttemptID: ${ATTEMPT_ID}" in line, line
        assert "AMDSTATUS: ${AMDSTATUS}" in line and "AMDCAUSE: ${AMDCAUSE}" in line, line


def test_only_a_gateway_amd_user_event_is_a_verdict() -> None:
    user_events = [m for m in messages() if m.get("Event") == "UserEvent"]
    assert len(user_events) == 4
    event = user_events[0]
    for name, value in [("UserEvent", "GatewayOptOut"), ("UserEvent", "Other")]:
        assert parse_amd_verdict(Message({**event, name: value})) is None
    assert parse_amd_verdict(Message({**event, "AMDSTATUS": "MAYBE"})) is None
    assert parse_amd_verdict(Message({**event, "AMDSTATUS": ""})) is None
    # A verdict for another attempt than the channel's is none.
    assert parse_amd_verdict(Message({**event, "AttemptID": "someone-else"})) is None
    # A cause that is not AMD()'s shape is dropped, the verdict kept.
    odd = parse_amd_verdict(Message({**event, "AMDCAUSE": "x\\ty"}))
    assert odd is not None and odd.cause == ""
    assert all(parse_amd_verdict(m) is None for m in messages() if m.get("Event") != "UserEvent")


@pytest.mark.parametrize("header_case", ["as recorded", "mixed"])
async def test_replayed_verdicts_come_between_the_answer_and_the_end(
    server: FakeAmiServer, telephony: AmiTelephony, header_case: str
) -> None:
    events: list[CallEvent] = []
    telephony.on_call_event(events.append)
    for aid in CALLS:
        await telephony.originate(
            OriginateRequest(aid, "PJSIP/1@carrier", "100", "gateway-amd", "s", 1, 30000)
        )
    await server.send_raw(MIXED if header_case == "mixed" else TRANSCRIPT.read_bytes())
    await until(lambda: sum(isinstance(e, CallEnded) for e in events) == len(CALLS))
    for aid in CALLS:
        mine = [e for e in events if e.attempt_id == aid]
        assert [type(e) for e in mine] == [CallAnswered, AmdVerdict, CallEnded], mine
        verdict = mine[1]
        assert isinstance(verdict, AmdVerdict)
        assert verdict.status == verdicts()[aid].status
        assert verdict.seconds is not None and verdict.seconds >= 0  # timed from the answer


async def test_a_verdict_for_an_untracked_call_is_ignored(
    server: FakeAmiServer, telephony: AmiTelephony
) -> None:
    events: list[CallEvent] = []
    telephony.on_call_event(events.append)
    await telephony.originate(
        OriginateRequest(CALLS[0], "PJSIP/1@carrier", "100", "gateway-amd", "s", 1, 30000)
    )
    await server.send_raw(TRANSCRIPT.read_bytes())
    await until(lambda: any(isinstance(e, CallEnded) for e in events))
    assert {e.attempt_id for e in events} == {CALLS[0]}


def test_a_user_event_sent_as_an_ami_action_is_no_verdict() -> None:
    """`Action: UserEvent` from another AMI user arrives with the headers it chose and no
    channel snapshot: never a verdict, whatever Uniqueid it names."""
    event = next(m for m in messages() if m.get("Event") == "UserEvent")
    assert parse_amd_verdict(event) is not None
    forged = {k: v for k, v in event.items() if not k.startswith("Channel")}
    assert parse_amd_verdict(Message(forged)) is None
