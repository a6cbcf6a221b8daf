"""Answering-machine detection for real: campaigns with `amd` on and off, run by a `gateway
serve` subprocess against the sandbox, where SIPp answers +12025551KNN with spoken
greetings (tests/sandbox/README.md) and Asterisk's AMD() judges them in the shipped
[gateway-amd] context.

Checked from three sides: the API (contacts' answered_by, amd_cause, outcomes), the event
stream (`amd` events, `contact` events carrying answered_by, `metrics` with
machine_rate), and our own AMI login (the witness: which dialplan context each call was
in when it hung up, and the GatewayAMD UserEvent of each call).
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.support import AmiWitness, Api, Call, Gateway, SseReader

pytestmark = pytest.mark.integration

PERSONS = [f"+120255510{i:02d}" for i in (0, 5, 11, 18)]  # "Hello?", "Hello, yes?", ...
MACHINES = [f"+120255511{i:02d}" for i in (0, 5, 14, 18)]
HANGS_UP = "+12025551200"  # hangs up 1 s into its greeting: HANGUP
SILENT = "+12025551300"  # never speaks: NOTSURE
MACHINE_AGENT = '[[agents]]\nid = "machine"\ncontext = "campaign"\nextension = "machine"\n'
CAMPAIGN_DONE = 60  # s: every call here ends within ~10 s of its answer


def by_number(api: Api, campaign_id: str) -> dict[str, dict[str, Any]]:
    return {c["phone_number"]: c for c in api.contacts(campaign_id)}


def calls_by_number(
    witness: AmiWitness, server: Gateway, contacts: dict[str, dict[str, Any]]
) -> dict[str, Call]:
    """The witness's calls by dialled number: an attempt id (the channel's Uniqueid) ends
    in "-<contact id>-<attempt>" (the gateway's format)."""
    number = {str(c["id"]): phone for phone, c in contacts.items()}
    return {
        number[call.uniqueid.rsplit("-", 2)[1]]: call
        for call in witness.calls_of([server.caller_ids["main"]])
    }


def metric(server: Gateway, name: str) -> float:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def run(
    gateway: Callable[..., Gateway], sse: Callable[..., SseReader], phones: list[str],
    **fields: Any,
) -> tuple[Gateway, Api, dict[str, Any], SseReader]:  # fmt: skip
    server = gateway(extra_toml=MACHINE_AGENT)
    api = server.tenant("acme", max_calls=20, cps=20)
    server.start()
    created = api.create(phones, max_concurrent_calls=len(phones), **fields)
    stream = sse(server, api, created["id"])
    api.command(created["id"], "start")
    done = api.wait_status(created["id"], "completed", CAMPAIGN_DONE)
    stream.wait_end(10)
    return server, api, done, stream


def test_amd_on_people_reach_the_agent_machines_the_machine_agent(
    gateway: Callable[..., Gateway], sse: Callable[..., SseReader], witness: AmiWitness
) -> None:
    server, api, done, stream = run(
        gateway, sse, PERSONS + MACHINES, amd="on", machine_agent_id="machine"
    )
    assert (done["amd"], done["machine_agent_id"]) == ("on", "machine")
    assert done["counts"]["completed"] == len(PERSONS) + len(MACHINES), done["counts"]
    contacts = by_number(api, done["id"])
    for phone in PERSONS:
        c = contacts[phone]
        assert (c["status"], c["last_outcome"], c["answered_by"]) == (
            "completed", "answered", "human"), c  # fmt: skip
        assert re.fullmatch(r"HUMAN-\d+-800", c["amd_cause"]), c
    for phone in MACHINES:
        c = contacts[phone]
        assert (c["status"], c["last_outcome"], c["answered_by"]) == (
            "completed", "answered", "machine"), c  # fmt: skip
        assert re.fullmatch(r"(LONGGREETING-\d+-1500|MAXWORDS-3-2)", c["amd_cause"]), c

    # Asterisk's side: every call went through gateway-amd, then to the agent or the
    # machine agent, as the contact's verdict says.
    calls = calls_by_number(witness, server, contacts)
    for phone in PERSONS + MACHINES:
        call = calls[phone]
        assert "gateway-amd" in call.contexts, call
        human = phone in PERSONS
        assert call.amd_status == ("HUMAN" if human else "MACHINE"), call
        assert call.hangup_at == ("campaign", "s" if human else "machine"), call

    # The stream: one `amd` event per contact, before its end; the end carries it too.
    amd = {e.data["contact_id"]: e for e in stream.of("amd")}
    ends = {e.data["contact_id"]: e for e in stream.of("contact") if e.data["to"] == "completed"}
    assert set(amd) == set(ends) == {c["id"] for c in contacts.values()}
    for c in contacts.values():
        assert amd[c["id"]].data["answered_by"] == c["answered_by"]
        assert amd[c["id"]].data["amd_cause"] == c["amd_cause"]
        assert amd[c["id"]].id < ends[c["id"]].id
        assert ends[c["id"]].data["answered_by"] == c["answered_by"]
    final = stream.of("metrics")[-1].data
    assert final["machine_rate"] == 0.5, final

    assert metric(server, 'gateway_amd_results_total{result="human"}') == len(PERSONS)
    assert metric(server, 'gateway_amd_results_total{result="machine"}') == len(MACHINES)
    assert metric(server, "gateway_amd_verdict_seconds_count") == len(PERSONS + MACHINES)
    # A person's verdict: the greeting, then after_greeting_silence (0.8 s).
    assert metric(server, "gateway_amd_verdict_seconds_sum") / 8 < 4
    witness.check_healthy()


def test_amd_on_without_a_machine_agent_hangs_up_on_machines(
    gateway: Callable[..., Gateway], sse: Callable[..., SseReader], witness: AmiWitness
) -> None:
    phones = [PERSONS[0], MACHINES[0], MACHINES[1], HANGS_UP, SILENT]
    server, api, done, stream = run(
        gateway, sse, phones, amd="on", retries_per_contact=1, retry_delay_seconds=60
    )
    contacts = by_number(api, done["id"])
    for phone in MACHINES[:2]:
        c = contacts[phone]
        # Failed, outcome machine, and not retried (machine is not in the default retry_on).
        assert (c["status"], c["last_outcome"], c["answered_by"], c["attempts"]) == (
            "failed", "machine", "machine", 1), c  # fmt: skip
        assert c["talk_seconds"] is None
    assert (contacts[PERSONS[0]]["status"], contacts[PERSONS[0]]["answered_by"]) == (
        "completed", "human")  # fmt: skip
    # Silent: AMD() gives up (TOOLONG-<ms>), or NOAUDIODATA-<ms> when no RTP came.
    for phone, cause in ((HANGS_UP, None), (SILENT, r"(TOOLONG|NOAUDIODATA)-\d+")):
        c = contacts[phone]
        assert (c["status"], c["answered_by"]) == ("completed", "unknown"), c
        assert c["amd_cause"] is None if cause is None else re.fullmatch(cause, c["amd_cause"])
    assert done["counts"]["failed"] == 2 and done["counts"]["completed"] == 3, done["counts"]

    calls = calls_by_number(witness, server, contacts)
    for phone in MACHINES[:2]:
        assert calls[phone].hangup_at == ("gateway-amd", "h"), calls[phone]  # Hangup() there
    assert calls[SILENT].hangup_at == ("campaign", "s")  # NOTSURE: the agent
    assert calls[HANGS_UP].amd_status == "HANGUP"

    failed = [e.data for e in stream.of("contact") if e.data["to"] == "failed"]
    assert sorted(e["phone_number"] for e in failed) == sorted(MACHINES[:2])
    assert all((e["from"], e["outcome"], e["answered_by"]) == ("connected", "machine", "machine")
               for e in failed)  # fmt: skip
    assert stream.of("metrics")[-1].data["machine_rate"] == 0.4
    assert metric(server, 'gateway_calls_failed_total{node="default",outcome="machine"}') == 2
    assert metric(server, 'gateway_amd_results_total{result="unknown"}') == 2


def test_amd_off_sends_no_call_to_gateway_amd(
    gateway: Callable[..., Gateway], sse: Callable[..., SseReader], witness: AmiWitness
) -> None:
    phones = [PERSONS[0], MACHINES[0], "+14155557000"]
    server, api, done, stream = run(gateway, sse, phones)
    assert (done["amd"], done["machine_agent_id"]) == ("off", None)
    contacts = by_number(api, done["id"])
    assert all(
        (c["status"], c["answered_by"], c["amd_cause"]) == ("completed", None, None)
        for c in contacts.values()
    ), contacts
    calls = witness.calls_of([server.caller_ids["main"]])
    assert len(calls) == len(phones)
    for call in calls:
        assert "gateway-amd" not in call.contexts, call
        assert call.amd_status is None and call.hangup_at == ("campaign", "s"), call
    assert not stream.of("amd")
    assert all("answered_by" not in e.data for e in stream.of("contact"))
    assert stream.of("metrics")[-1].data["machine_rate"] is None
    assert metric(server, "gateway_amd_verdict_seconds_count") == 0
