"""Answering-machine detection on the sandbox itself: the shipped [gateway-amd] context and
amd.conf on the real AMD(), SIPp's spoken greetings (tests/sandbox/README.md), and the
event filter letting the GatewayAMD UserEvent through. Standard library and the raw AMI
client of test_sandbox.py only, no project code.

Also records the transcript used by the parser tests:

    python tests/integration/test_sandbox_amd.py --record tests/transcripts/amd_verdicts.ami
"""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.test_sandbox import CALLER_ID, Ami, is_event

pytestmark = pytest.mark.integration
# A far end that never speaks: AMD() gives up at total_analysis_time (TOOLONG-<ms>), or,
# when no RTP arrives at all, Asterisk 22's app_amd says NOAUDIODATA-<ms> (its format).
SILENT_CAUSE = r"(TOOLONG|NOAUDIODATA)-\d+"


def header(message: dict[str, str], name: str) -> str | None:
    """A header by its name in any case."""
    folded = name.casefold()
    return next((v for k, v in message.items() if k.casefold() == folded), None)


AGENT = "GATEWAY_AGENT_CONTEXT=campaign,GATEWAY_AGENT_EXTEN=s,GATEWAY_AGENT_PRIORITY=1"
MACHINE_AGENT = (
    "GATEWAY_MACHINE_CONTEXT=campaign,GATEWAY_MACHINE_EXTEN=machine,GATEWAY_MACHINE_PRIORITY=1"
)

# name: (number, machine agent?, AMDSTATUS, AMDCAUSE pattern, Hangup Context, Exten)
CASES = {
    "person": ("+12025551000", True, "HUMAN", r"HUMAN-\d+-800", "campaign", "s"),
    "machine_to_agent": (
        "+12025551100",
        True,
        "MACHINE",
        r"(LONGGREETING-\d+-1500|MAXWORDS-3-2)",
        "campaign",
        "machine",
    ),
    "machine_hung_up": (
        "+12025551101",
        False,
        "MACHINE",
        r"(LONGGREETING-\d+-1500|MAXWORDS-3-2)",
        "gateway-amd",
        "h",  # Hangup(16) in gateway-amd, then its h extension
    ),
    "far_end_hangs_up": ("+12025551200", True, "HANGUP", r"", "gateway-amd", "h"),
    "no_audio": ("+12025551300", True, "NOTSURE", SILENT_CAUSE, "campaign", "s"),
}


def originate_amd(ami: Ami, attempt_id: str, number: str, machine_agent: bool) -> None:
    variables = f"ATTEMPT_ID={attempt_id},{AGENT}"
    if machine_agent:
        variables += "," + MACHINE_AGENT
    ami.send(
        Action="Originate",
        ActionID=attempt_id,
        ChannelId=attempt_id,
        Channel=f"PJSIP/{number}@carrier",
        Context="gateway-amd",
        Exten="s",
        Priority=1,
        Timeout=5000,
        CallerID=CALLER_ID,
        Variable=variables,
        Async="true",
    )


@dataclass
class AmdRun:
    ami: Ami
    ids: dict[str, str]


async def dial_amd_cases() -> AmdRun:
    ami = await Ami.connect()
    try:
        await ami.login()
        await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", 5)
        tag = uuid.uuid4().hex[:8]
        ids = {name: f"amd-{tag}-{name}" for name in CASES}
        for name, (number, machine_agent, *_rest) in CASES.items():
            originate_amd(ami, ids[name], number, machine_agent)
        for attempt_id in ids.values():
            await ami.wait_for(is_event("Hangup", attempt_id), 30)
        return AmdRun(ami, ids)
    finally:
        await ami.close()


@pytest.fixture(scope="module")
def amd_run() -> AmdRun:
    return asyncio.run(dial_amd_cases())


@pytest.mark.parametrize("name", sorted(CASES))
def test_verdict_user_event_and_where_the_call_went(amd_run: AmdRun, name: str) -> None:
    _number, _agent, status, cause, context, exten = CASES[name]
    attempt_id = amd_run.ids[name]
    [verdict] = [
        m for m in amd_run.ami.events("UserEvent", attempt_id) if m.get("UserEvent") == "GatewayAMD"
    ]
    # The header names as the dialplan writes them (AMDSTATUS; AMDStatus before), in any case.
    assert header(verdict, "AttemptID") == attempt_id
    assert header(verdict, "AMDSTATUS") == status, verdict
    assert header(verdict, "AMDCAUSE") is not None, verdict  # present, maybe empty
    assert re.fullmatch(cause, header(verdict, "AMDCAUSE") or ""), verdict
    [hangup] = amd_run.ami.events("Hangup", attempt_id)
    assert (hangup["Context"], hangup["Exten"]) == (context, exten), hangup


def test_a_person_is_judged_within_three_seconds_of_the_answer(amd_run: AmdRun) -> None:
    attempt_id = amd_run.ids["person"]
    times = {
        m.get("Event"): t
        for t, m in amd_run.ami.messages
        if m.get("Uniqueid") == attempt_id
        and (m.get("Event") == "UserEvent" or m.get("ChannelState") == "6")
    }
    assert 0.8 < times["UserEvent"] - times["Newstate"] < 3.0, times


async def raise_user_events(names: dict[str, str]) -> Ami:
    """Originate an answered call per name whose application is UserEvent(name): raised on
    the channel by Asterisk itself, as a dialplan would, then hung up."""
    ami = await Ami.connect()
    try:
        await ami.login()
        await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", 5)
        for attempt_id, name in names.items():
            ami.send(
                Action="Originate",
                ActionID=attempt_id,
                ChannelId=attempt_id,
                Channel="PJSIP/+14155550120@carrier",
                Application="UserEvent",
                Data=f"{name},AttemptID: {attempt_id}",
                Timeout=5000,
                CallerID=CALLER_ID,
                Async="true",
            )
        for attempt_id in names:
            await ami.wait_for(is_event("Hangup", attempt_id), 30)
        return ami
    finally:
        await ami.close()


def test_the_event_filter_passes_only_the_gateways_two_user_events() -> None:
    """manager.conf's filter matches the UserEvent header exactly: another dialplan's
    UserEvents (other names, and names that only start or end like the gateway's) never
    reach the gateway's AMI user; GatewayAMD and GatewayOptOut do."""
    tag = uuid.uuid4().hex[:8]
    names = {
        f"ue-{tag}-other": "Other",
        f"ue-{tag}-prefix": "GatewayAMDx",
        f"ue-{tag}-suffix": "XGatewayOptOut",
        f"ue-{tag}-case": "gatewayamd",
        f"ue-{tag}-amd": "GatewayAMD",
        f"ue-{tag}-optout": "GatewayOptOut",
    }
    ami = asyncio.run(raise_user_events(names))
    for attempt_id in names:  # every call was answered and ran its UserEvent
        assert ami.events("Hangup", attempt_id), attempt_id
    seen = {  # this test's calls only: another's verdict may arrive on the same login
        m.get("AttemptID"): m.get("UserEvent")
        for m in ami.events("UserEvent")
        if (m.get("AttemptID") or "").startswith(f"ue-{tag}-")
    }
    assert seen == {f"ue-{tag}-amd": "GatewayAMD", f"ue-{tag}-optout": "GatewayOptOut"}, seen


async def record_transcript() -> bytes:
    """Login, then a person, a machine hung up on, a far end that hangs up during AMD and
    a silent one (NOTSURE), through [gateway-amd], until their Hangups; logoff: exactly the
    bytes Asterisk sent."""
    ami = await Ami.connect()
    try:
        await ami.login()
        await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", 5)
        calls = {
            "attempt-person-1": ("+12025551000", True),
            "attempt-machine-1": ("+12025551101", False),
            "attempt-hangup-1": ("+12025551200", True),
            "attempt-silent-1": ("+12025551300", True),
        }
        for attempt_id, (number, machine_agent) in calls.items():
            originate_amd(ami, attempt_id, number, machine_agent)
        for attempt_id in calls:
            await ami.wait_for(is_event("Hangup", attempt_id), 30)
            await ami.wait_for(is_event("OriginateResponse", attempt_id), 5)
        ami.send(Action="Logoff", ActionID="logoff-1")
        await ami.wait_for(lambda m: m.get("ActionID") == "logoff-1", 5)
        await asyncio.wait_for(ami._task, 5)
    finally:
        await ami.close()
    return bytes(ami.raw)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--record":
        sys.exit(f"usage: {sys.argv[0]} --record PATH")
    transcript = asyncio.run(record_transcript())
    Path(sys.argv[2]).write_bytes(transcript)
    print(f"{sys.argv[2]}: {len(transcript)} bytes")
