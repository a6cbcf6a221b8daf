"""Answering-machine detection through the middle of the gateway, fast: the real app
(API, store, dispatcher, AmiTelephony) against the fake Asterisk, which answers and then
raises the GatewayAMD UserEvent as [gateway-amd] does (the real one's bytes are
tests/transcripts/amd_verdicts.ami, parsed in tests/unit/ami/test_amd_transcript.py).

Checked: the contact's and the attempt's answered_by / amd_cause and outcome, the stored
`amd` event and the `contact` events carrying answered_by, SSE `metrics` machine_rate,
and the Prometheus counter and histogram, counted once per attempt."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.http.keys import STORE
from gateway.store.dialing import DialStore
from gateway.store.settling import Amd
from tests.helpers import Api, new_tenant, read_sse
from tests.unit.dialer.harness import Env, command, create, stored_events, wait_contacts
from tests.unit.dialer.support import FakeAsterisk, number, until, variables

PHONE = number(1, 0)  # the fake answers a number ending in 0


@dataclass
class Result:
    client: TestClient
    api: Api
    cid: str
    contact: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]  # stored: (type, data)
    prometheus: str

    def metric(self, name: str, **labels: str) -> float:
        inside = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        text = f"{name}{{{inside}}}" if labels else name
        match = re.search(rf"^{re.escape(text)} (\S+)$", self.prometheus, re.M)
        assert match, f"{text} not in /metrics"
        return float(match.group(1))

    def amd_results(self) -> dict[str, float]:
        name = "gateway_amd_results_total"
        return {r: self.metric(name, result=r) for r in ("human", "machine", "unknown")}

    async def detail(self) -> dict[str, Any]:
        path = f"/campaigns/{self.cid}/contacts/{self.contact['id']}"
        response = await self.api.request("GET", path)
        assert response.status == 200
        return dict(await response.json())

    async def final_metrics(self) -> dict[str, Any]:
        """The `metrics` event a stream sends once the campaign is over, before `end`."""
        stream = await self.api.request("GET", f"/campaigns/{self.cid}/events")
        found = await read_sse(stream, lambda ev: any(e.get("event") == "end" for e in ev))
        [metrics] = [e for e in found if e.get("event") == "metrics"]
        return dict(json.loads(metrics["data"]))


def verdict(status: str, cause: str, names: tuple[str, str] = ("AMDSTATUS", "AMDCAUSE")) -> dict:
    return {names[0]: status, names[1]: cause}


async def amd_call(
    env: Env, verdicts: list[dict[str, str]], settled: str = "completed", **fields: Any
) -> Result:
    """One contact of an `amd=on` campaign: answered, then each of `verdicts` raised as a
    GatewayAMD UserEvent on its channel (none: the call ends before any verdict), then
    hung up; returned once the contact is `settled`."""
    fake: FakeAsterisk = env.fake
    fake.hold_answered = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    cid = await create(api, [PHONE], amd="on", **fields)
    await command(api, cid, "start")
    await until(lambda: any(c.answered for c in fake.calls.values()), 5, "the call answered")
    [call] = fake.calls.values()
    for headers in verdicts:
        await fake.user_event(call.id, "GatewayAMD", AttemptID=call.id, **headers)
    await fake.hang_up(call.id)
    found = await wait_contacts(api, cid, lambda c: c[PHONE]["status"] == settled)
    events = [(kind, data) for _, kind, data in await stored_events(client, cid)]
    result = Result(client, api, cid, found[PHONE], events, "")

    async def counted() -> bool:
        """The recorder counts a batch just after writing it: every answered AMD call
        here gets exactly one result."""
        result.prometheus = await (await client.get("/metrics")).text()
        return sum(result.amd_results().values()) >= 1

    await until(counted, 5, "the AMD result counted")
    return result


def contact_ends(result: Result) -> list[dict[str, Any]]:
    return [d for kind, d in result.events if kind == "contact" and d["from"] == "connected"]


@pytest.mark.parametrize("names", [("AMDSTATUS", "AMDCAUSE"), ("AMDStatus", "AMDCause")])
async def test_a_machine_without_a_machine_agent_is_failed_machine(
    env: Env, names: tuple[str, str]
) -> None:
    """Both spellings: the shipped dialplan's (AMDSTATUS) and the one recorded before.
    The verdict arrives twice (a replay): it is stored and counted once."""
    machine = verdict("MACHINE", "LONGGREETING-1500-1500", names)
    result = await amd_call(env, [machine, machine], settled="failed")
    c = result.contact
    assert (c["status"], c["last_outcome"], c["answered_by"], c["amd_cause"]) == (
        "failed", "machine", "machine", "LONGGREETING-1500-1500")  # fmt: skip
    assert c["talk_seconds"] is None

    [amd] = [d for kind, d in result.events if kind == "amd"]
    assert {k: amd[k] for k in ("contact_id", "phone_number", "attempt")} == {
        "contact_id": c["id"], "phone_number": PHONE, "attempt": 1}  # fmt: skip
    assert (amd["answered_by"], amd["amd_cause"]) == ("machine", "LONGGREETING-1500-1500")
    [end] = contact_ends(result)
    assert (end["to"], end["outcome"], end["answered_by"]) == ("failed", "machine", "machine")

    assert result.amd_results() == {"human": 0, "machine": 1, "unknown": 0}
    assert result.metric("gateway_amd_verdict_seconds_count") == 1
    assert result.metric("gateway_calls_failed_total", node="default", outcome="machine") == 1
    assert (await result.final_metrics())["machine_rate"] == 1.0
    [attempt] = (await result.detail())["attempts"]
    assert (attempt["answered_by"], attempt["amd_cause"]) == ("machine", "LONGGREETING-1500-1500")


async def test_a_machine_with_a_machine_agent_is_completed(env: Env) -> None:
    result = await amd_call(env, [verdict("MACHINE", "MAXWORDS-3-2")], machine_agent_id="queue")
    c = result.contact
    assert (c["status"], c["last_outcome"], c["answered_by"], c["amd_cause"]) == (
        "completed", "answered", "machine", "MAXWORDS-3-2")  # fmt: skip
    # The Originate went to [gateway-amd], told where the agent and the machine agent are.
    [arrival] = env.fake.arrivals()
    assert (arrival.action["Context"], arrival.action["Exten"]) == ("gateway-amd", "s")
    sent = variables(arrival.action)
    assert (sent["GATEWAY_AGENT_CONTEXT"], sent["GATEWAY_AGENT_EXTEN"]) == ("campaign", "s")
    assert (sent["GATEWAY_MACHINE_CONTEXT"], sent["GATEWAY_MACHINE_EXTEN"]) == ("sales", "100")
    [end] = contact_ends(result)
    assert (end["to"], end["answered_by"]) == ("completed", "machine")
    assert result.amd_results() == {"human": 0, "machine": 1, "unknown": 0}
    assert (await result.final_metrics())["machine_rate"] == 1.0


async def test_a_person_is_completed_human(env: Env) -> None:
    result = await amd_call(env, [verdict("HUMAN", "HUMAN-800-800")])
    c = result.contact
    assert (c["status"], c["last_outcome"], c["answered_by"], c["amd_cause"]) == (
        "completed", "answered", "human", "HUMAN-800-800")  # fmt: skip
    assert "GATEWAY_MACHINE_CONTEXT" not in variables(env.fake.arrivals()[0].action)
    assert result.amd_results() == {"human": 1, "machine": 0, "unknown": 0}
    assert (await result.final_metrics())["machine_rate"] == 0.0


@pytest.mark.parametrize(
    ("status", "cause", "stored"),
    [("NOTSURE", "TOOLONG-5000", "TOOLONG-5000"), ("HANGUP", "", None)],
)
async def test_notsure_and_hangup_are_unknown(
    env: Env, status: str, cause: str, stored: str | None
) -> None:
    """An empty AMDCAUSE (HANGUP) is amd_cause null: Asterisk gave no cause."""
    result = await amd_call(env, [verdict(status, cause)])
    c = result.contact
    assert (c["status"], c["last_outcome"], c["answered_by"], c["amd_cause"]) == (
        "completed", "answered", "unknown", stored)  # fmt: skip
    assert [d["answered_by"] for kind, d in result.events if kind == "amd"] == ["unknown"]
    assert result.amd_results() == {"human": 0, "machine": 0, "unknown": 1}
    assert result.metric("gateway_amd_verdict_seconds_count") == 1
    assert (await result.final_metrics())["machine_rate"] == 0.0


async def test_an_answered_call_with_no_verdict_is_unknown_and_counted(env: Env) -> None:
    """The far end hung up before AMD() began: no UserEvent at all. The contact says
    unknown and the counter counts it; the histogram has no verdict time to take."""
    result = await amd_call(env, [])
    c = result.contact
    assert (c["status"], c["answered_by"], c["amd_cause"]) == ("completed", "unknown", None)
    assert not [d for kind, d in result.events if kind == "amd"]  # no verdict was heard
    [end] = contact_ends(result)
    assert end["answered_by"] == "unknown"
    assert result.amd_results() == {"human": 0, "machine": 0, "unknown": 1}
    assert result.metric("gateway_amd_verdict_seconds_count") == 0
    assert (await result.final_metrics())["machine_rate"] == 0.0
    [attempt] = (await result.detail())["attempts"]
    assert (attempt["answered_by"], attempt["amd_cause"]) == ("unknown", None)


async def test_retry_on_machine_puts_it_back_to_pending(env: Env) -> None:
    result = await amd_call(
        env, [verdict("MACHINE", "MAXWORDS-3-2")], settled="pending",
        retry_on="machine", retries_per_contact=1, retry_delay_seconds=60,
    )  # fmt: skip
    c = result.contact
    assert (c["status"], c["last_outcome"], c["answered_by"], c["attempts"]) == (
        "pending", "machine", "machine", 1)  # fmt: skip
    assert c["next_attempt_at"] is not None
    decisions = [d["decision"] for d in (await result.detail())["decisions"]]
    assert decisions == ["dialled", "retry_scheduled"]
    assert result.amd_results() == {"human": 0, "machine": 1, "unknown": 0}


async def test_a_verdict_for_a_campaign_with_amd_off_changes_nothing(env: Env) -> None:
    """A GatewayAMD UserEvent nobody asked for (the campaign's AMD is off: another
    dialplan, another AMI user) sets no answered_by and counts nothing."""
    fake: FakeAsterisk = env.fake
    fake.hold_answered = True
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    cid = await create(api, [PHONE])
    await command(api, cid, "start")
    await until(lambda: any(c.answered for c in fake.calls.values()), 5, "the call answered")
    [call] = fake.calls.values()
    await fake.user_event(call.id, "GatewayAMD", AttemptID=call.id, **verdict("MACHINE", ""))
    await fake.hang_up(call.id)
    found = await wait_contacts(api, cid, lambda c: c[PHONE]["status"] == "completed")
    assert (found[PHONE]["answered_by"], found[PHONE]["amd_cause"]) == (None, None)
    assert [kind for _, kind, _ in await stored_events(client, cid) if kind == "amd"] == []
    text = await (await client.get("/metrics")).text()
    assert not re.search(r'^gateway_amd_results_total\{result="machine"\} [1-9]', text, re.M)


async def test_a_verdict_for_an_attempt_already_ended_changes_nothing(env: Env) -> None:
    """A verdict applied after its attempt's end (replayed, or queued behind the end) for
    a call never answered (busy): the contact keeps answered_by null, and nothing is
    stored or counted."""
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    busy = number(2, 5)
    cid = await create(api, [busy], amd="on")
    await command(api, cid, "start")
    await wait_contacts(api, cid, lambda c: c[busy]["status"] == "failed")
    attempt = env.fake.originates[0].attempt_id
    store = DialStore(client.app[STORE].db, allow_premium=False)
    before = await stored_events(client, cid)
    applied = await store.apply([Amd(attempt, time.time(), "machine", "LONGGREETING-1-1")])
    assert (applied.amd, applied.outcomes, applied.campaigns) == ([], [], set())
    found = await wait_contacts(api, cid, lambda c: True)
    assert (found[busy]["last_outcome"], found[busy]["answered_by"]) == ("busy", None)
    assert await stored_events(client, cid) == before
