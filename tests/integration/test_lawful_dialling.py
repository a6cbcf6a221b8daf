"""Lawful dialling on the real sandbox (issue 7): calling hours in each contact's own zone,
decided from the real clock; and the opt-out a person makes during the call, by pressing
9 (SIPp sends the DTMF as SIP INFO, or as RFC 4733 telephone-events over RTP, which the
trunk's `dtmf_mode = rfc4733` asks for; the dialplan raises UserEvent(GatewayOptOut))."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.integration.nodes import REPO, RUN
from tests.integration.support import (
    AmiWitness,
    Api,
    Gateway,
    SseReader,
    numbers,
    parse_time,
    wait_until,
)
from tests.zones_now import next_local, zone_at

pytestmark = pytest.mark.integration

# tests/sandbox/far-end.xml: they answer, then press 9 (as SIP INFO; as RFC 4733 over RTP).
OPT_OUT_NUMBER = "+442079460001"
RTP_OPT_OUT_NUMBER = "+441174960001"
FAR_END = REPO / "tests" / "sandbox" / "far-end.xml"


def far_end_runs_another_scenario() -> bool:
    """The sandbox's SIPp was started from other files than this checkout's far-end.xml,
    pcaps and greetings list (the digest scripts/sandbox records at its start): an older
    far end, which may not press 9 over RTP. scripts/sandbox start restarts such a SIPp,
    so under scripts/test this never holds."""
    try:
        recorded = (RUN / "sipp.digest").read_text().strip()
    except OSError:
        return True
    sandbox = FAR_END.parent
    files = [FAR_END, *sorted(sandbox.glob("*.pcap")), sandbox / "greetings.txt"]
    return recorded != hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def create_csv(api: Api, csv: str, **fields: str) -> dict:
    boundary = "cc" + uuid.uuid4().hex
    parts = [(f'name="{name}"', value) for name, value in {"name": "compliance", **fields}.items()]
    parts.append(('name="contacts"; filename="contacts.csv"', csv))
    body = "".join(
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{value}\r\n"
        for disposition, value in parts
    )
    body += f"--{boundary}--\r\n"
    return api.request(
        "POST", "/campaigns", body.encode(), f"multipart/form-data; boundary={boundary}"
    )


def test_calling_hours_hold_a_contact_at_3am_and_dial_the_one_at_noon(
    gateway: Callable[..., Gateway], witness: AmiWitness
) -> None:
    server = gateway(calling_hours="08:00-21:00")
    api = server.tenant("acme", max_calls=5, cps=5)
    server.start()
    now = datetime.now(UTC)
    night, noon = zone_at(3, now), zone_at(12, now)
    early = numbers("0", 2, exchange=561)
    awake = numbers("0", 2, exchange=562)
    csv = "phone_number,timezone\n" + "".join(
        [f"{p},{night}\n" for p in early] + [f"{p},{noon}\n" for p in awake]
    )
    created = create_csv(api, csv)
    cid = created["id"]
    api.command(cid, "start")
    api.wait_for(cid, lambda c: c["counts"]["completed"] == 2, 30, "the noon contacts done")
    by_number = {c["phone_number"]: c for c in api.contacts(cid)}
    opens = next_local(night, 8, now).timestamp()
    for phone in early:
        contact = by_number[phone]
        assert (contact["status"], contact["attempts"]) == ("pending", 0)
        assert abs(parse_time(contact["next_attempt_at"]) - opens) < 1
        trail = api.request("GET", f"/campaigns/{cid}/contacts/{contact['id']}")
        assert [d["decision"] for d in trail["decisions"]] == ["deferred_window"]
    caller = [server.caller_ids["main"]]
    witness.wait_idle(caller, 15)
    calls = witness.calls_of(caller)
    assert len(calls) == 2, "Asterisk saw a channel for each contact at noon, and no other"
    assert all(c.up is not None for c in calls)
    assert api.get(cid)["status"] == "running"  # the night ones still wait


@pytest.mark.parametrize(
    ("number", "exchange"),
    [(OPT_OUT_NUMBER, 563), (RTP_OPT_OUT_NUMBER, 564)],
    ids=["sip-info", "rfc4733"],
)
def test_pressing_9_during_the_call_opts_the_number_out(
    gateway: Callable[..., Gateway], sse: Callable[..., SseReader], number: str, exchange: int
) -> None:
    assert not far_end_runs_another_scenario(), (
        "the sandbox's SIPp was started from another tests/sandbox/far-end.xml (or its"
        " pcaps): run scripts/sandbox start --nodes 2 again, which restarts it"
    )
    server = gateway()
    api = server.tenant("acme", max_calls=5, cps=5)
    other = server.tenant("other", max_calls=5, cps=5)
    server.start()
    [plain] = numbers("0", 1, exchange=exchange)
    created = api.create([number, plain])
    cid = created["id"]
    stream = sse(server, api, cid)
    api.command(cid, "start")
    api.wait_status(cid, "completed", 40)
    by_number = {c["phone_number"]: c for c in api.contacts(cid)}
    opted, kept = by_number[number], by_number[plain]
    assert (opted["status"], opted["opted_out"]) == ("completed", True)
    assert kept["opted_out"] is False

    wait_until(lambda: bool(stream.of("opt_out")), 10, "an opt_out event")
    [event] = stream.of("opt_out")
    assert event.id is not None
    assert event.data["contact_id"] == opted["id"]
    assert (event.data["campaign_id"], event.data["phone_number"]) == (cid, number)
    assert parse_time(event.data["time"]) > 0

    # On the tenant's do-not-call list from then on: the next upload refuses it...
    again = api.create([number, plain])
    assert again["import"]["dnc"] == 1
    refused = {c["phone_number"]: c for c in api.contacts(again["id"])}[number]
    assert (refused["status"], refused["last_outcome"]) == ("failed", "do_not_call")
    # ... for this tenant only.
    assert other.create([number])["import"]["dnc"] == 0
