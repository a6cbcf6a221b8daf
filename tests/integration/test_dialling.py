"""Dialling for real: campaigns run by a `gateway serve` subprocess against the sandbox
Asterisk 22 and SIPp (tests/sandbox/README.md: the far end's answer depends on the last
digit of the dialled number).

Black-box: the daemon is driven over HTTP only, its event stream is read as a client
would, and what happened on the telephone side is checked by our own AMI login (the
witness in tests/integration/support.py): it receives the same call events as the
gateway and polls CoreShowChannels every 100 ms. The witness tells the gateway's channels
from anyone else's by caller ID (each daemon here has caller IDs of its own), never by
the gateway's attempt-id format.

Needs the sandbox (started by the session fixture if it is not running); fails, never
skips, without it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.support import (
    OUTCOMES,
    AmiProxy,
    AmiWitness,
    Call,
    Gateway,
    SseReader,
    in_flight,
    max_in_window,
    numbers,
    parse_time,
    wait_until,
)

pytestmark = pytest.mark.integration

RING = 5  # ring_timeout_seconds: digit-9 numbers end after it
GRACE = 0.5  # s after a pause/stop returned during which an Originate already sent may land
FINAL = {"completed", "failed", "cancelled"}


# ---------------------------------------------------------------------------------------
# Checks shared by the tests


def expected_counts(phones: list[str]) -> Counter[str]:
    return Counter(OUTCOMES[p[-1]][0] for p in phones)


def outcome_mismatches(contacts: list[dict[str, Any]], attempts: int = 1) -> list[str]:
    """Each contact against the far end's table (status, outcome, cause, SIP code)."""
    wrong = []
    for c in contacts:
        status, outcome, cause, sip = OUTCOMES[c["phone_number"][-1]]
        got = (c["status"], c["last_outcome"], c["hangup_cause"], c["sip_code"] or None)
        if got != (status, outcome, cause, sip) or c["attempts"] != attempts:
            wrong.append(
                f"{c['phone_number']}: got status/outcome/cause/sip {got} attempts "
                f"{c['attempts']}, expected {(status, outcome, cause, sip)} attempts {attempts}"
            )
        elif status == "completed" and not 1.0 <= (c["talk_seconds"] or 0) <= 5.0:
            wrong.append(f"{c['phone_number']}: talk_seconds {c['talk_seconds']}, about 2 s")
        elif cause is not None and not c["hangup_cause_text"]:
            wrong.append(f"{c['phone_number']}: no hangup_cause_text")
    return wrong


def contact_chains(stream: SseReader) -> dict[int, list[dict[str, Any]]]:
    chains: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in stream.of("contact"):
        chains[event.data["contact_id"]].append(event.data)
    return chains


def check_stream_ids(stream: SseReader) -> None:
    ids = [e.id for e in stream.events if e.id is not None]
    assert ids == sorted(ids) and len(ids) == len(set(ids)), "SSE ids not strictly increasing"
    assert all(e.id is not None for e in stream.of("contact")), "a contact event without id"


def check_chains_end_final(stream: SseReader, contacts: list[dict[str, Any]]) -> None:
    """Every contact's transitions on the stream link up (from == previous to), start at
    pending and end in the status the API reports."""
    chains = contact_chains(stream)
    broken = []
    for contact in contacts:
        chain = chains.get(contact["id"], [])
        states = ["pending"] + [e["to"] for e in chain]
        froms = [e["from"] for e in chain]
        if froms != states[:-1] or states[-1] != contact["status"]:
            broken.append(f"{contact['phone_number']} ({contact['status']}): {states} / {froms}")
    assert not broken, f"{len(broken)} contacts' transitions incomplete: {broken[:5]}"


def witness_vs_contacts(calls: list[Call], contacts: list[dict[str, Any]]) -> None:
    """The Asterisk side agrees with the contacts: one channel per attempt counted by
    the gateway, each channel hung up, failed numbers hung up with the recorded cause."""
    attempts = sum(c["attempts"] for c in contacts)
    assert len(calls) == attempts, (
        f"Asterisk saw {len(calls)} channels of this gateway, the contacts count "
        f"{attempts} attempts"
    )
    assert all(c.hangup is not None for c in calls), "a channel never hung up"
    by_number = {c["phone_number"]: c for c in contacts}
    wrong = []
    for call in calls:
        contact = by_number.get(call.dialled or "")
        if contact is not None and str(contact["hangup_cause"]) != call.cause:
            wrong.append(f"{call.dialled}: Asterisk cause {call.cause}, gateway {contact}")
    assert not wrong, wrong[:5]


def contact_of(call: Call) -> int:
    """A channel's Uniqueid is its attempt id, "<campaign>-<contact id>-<attempt>"."""
    return int(call.uniqueid.split("-")[-2])


def heard_until(stream: SseReader, calls: list[Call], before: float) -> float:
    """The witness's hangup time of the last call whose end the event stream brought
    before `before` (a kill, a cut). Asterisk gives every AMI session its events in one
    order and the gateway writes them in that order, so each call that hung up before it
    was written, heard. After it, a Hangup may have been on the wire or not yet written
    when the gateway went deaf (no guessed time: a loaded machine lags by any amount)."""
    ended = {contact_of(call): call.hangup for call in calls if call.hangup is not None}
    shown = [
        ended[e.data["contact_id"]]
        for e in stream.of("contact")
        if e.received < before and e.data["to"] in FINAL and e.data["contact_id"] in ended
    ]
    return max(shown, default=float("-inf"))


def check_unheard(
    contacts: list[dict[str, Any]], calls: list[Call], heard: float, back_at: float
) -> None:
    """Calls that ended while the gateway could not hear it (daemon dead, AMI cut) are
    settled from what was known (answered: completed without a cause; else lost). Each
    contact settled so is one whose call ended then: after the last call whose end was
    `heard` (heard_until) and up to 2 s after the gateway was ready again. Every other
    contact carries its real outcome."""
    ended = {contact_of(call): call.hangup for call in calls}
    unheard = [c for c in contacts if c["hangup_cause"] is None]
    stray = [
        (c["phone_number"], c["last_outcome"], ended.get(c["id"]))
        for c in unheard
        if not heard <= (ended.get(c["id"]) or 0) <= back_at + 2
    ]
    assert not stray, (
        f"{len(stray)} contacts settled without a cause whose call did not end while the "
        f"gateway was deaf (heard until {heard:.2f}, ready at {back_at:.2f}; number, "
        f"outcome, hangup): {stray[:5]}"
    )
    assert {c["last_outcome"] for c in unheard} <= {"answered", "lost"}, unheard[:3]
    wrong = outcome_mismatches([c for c in contacts if c["hangup_cause"] is not None])
    assert not wrong, wrong[:5]


def originated_times(stream: SseReader) -> list[float]:
    """Gateway-side times of the pending → originated transitions (unix seconds)."""
    return [
        parse_time(e.data["time"]) for e in stream.of("contact") if e.data["to"] == "originated"
    ]


class ReadyPoller:
    """Polls /readyz every 100 ms in a thread; keeps (monotonic time, ami ok)."""

    def __init__(self, server: Gateway) -> None:
        self.server = server
        self.seen: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadyPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ok = self.server.ami_ok()
            except OSError:
                ok = False
            self.seen.append((time.monotonic(), ok))
            self._stop.wait(0.1)


# ---------------------------------------------------------------------------------------
# The tests


def test_mixed_outcomes_exact_counts_and_campaign_cap(
    gateway: Callable[..., Gateway],
    witness: AmiWitness,
    sse: Callable[..., SseReader],
) -> None:
    """250 contacts, 25 per last digit: exact counts and causes, at most 20 channels alive
    on Asterisk at any moment, every transition on the stream."""
    server = gateway()
    api = server.tenant("acme", max_calls=30, cps=50)
    server.start()
    phones = numbers("0123456789", 250)
    created = api.create(
        phones, max_concurrent_calls=20, retries_per_contact=0, ring_timeout_seconds=RING
    )
    assert created["status"] == "draft" and created["counts"]["total"] == 250, created
    stream = sse(server, api, created["id"])
    started = api.command(created["id"], "start")
    assert started["status"] == "running", started

    done = api.wait_status(created["id"], "completed", timeout=150)
    expected = expected_counts(phones)
    assert done["counts"] == {
        "total": 250,
        "pending": 0,
        "originated": 0,
        "connected": 0,
        "completed": expected["completed"],
        "failed": expected["failed"],
        "cancelled": 0,
    }, done
    assert (expected["completed"], expected["failed"]) == (125, 125)
    contacts = api.contacts(created["id"])
    assert len(contacts) == 250
    wrong = outcome_mismatches(contacts)
    assert not wrong, f"{len(wrong)} contacts differ from the far end's table: {wrong[:8]}"

    caller = [server.caller_ids["main"]]
    witness.wait_idle(caller, 15)
    witness.check_healthy()
    calls = witness.calls_of(caller)
    witness_vs_contacts(calls, contacts)
    assert sorted(c.dialled for c in calls if c.dialled) == sorted(
        p for p in phones if p[-1] in "56789"
    ), "the failed numbers Asterisk dialled are not exactly the failing contacts, once each"
    max_live, max_sampled = witness.max_live(caller), witness.max_sampled(caller)
    assert max_live <= 20, f"{max_live} channels alive at once on Asterisk (cap 20)"
    assert max_sampled <= 20, f"CoreShowChannels listed {max_sampled} channels (cap 20)"
    assert max_live >= 10, f"the cap was never approached (max {max_live}): test is vacuous"
    assert witness.sample_count() > 50

    stream.wait_end(15)
    check_stream_ids(stream)
    chains = contact_chains(stream)
    wrong = []
    for contact in contacts:
        path = [(e["from"], e["to"]) for e in chains.get(contact["id"], [])]
        if contact["status"] == "completed":
            want = [("pending", "originated"), ("originated", "connected"),
                    ("connected", "completed")]  # fmt: skip
        else:
            want = [("pending", "originated"), ("originated", "failed")]
        last = chains.get(contact["id"], [{}])[-1]
        if path != want or (
            last.get("outcome"),
            last.get("hangup_cause"),
            last.get("sip_code") or None,
            last.get("phone_number"),
            last.get("attempt"),
        ) != (
            contact["last_outcome"],
            contact["hangup_cause"],
            contact["sip_code"] or None,
            contact["phone_number"],
            1,
        ):
            wrong.append(f"{contact['phone_number']}: {path} last event {last}")
    assert not wrong, f"{len(wrong)} contacts' stream events wrong: {wrong[:5]}"
    assert stream.of("end")[-1].data["status"] == "completed"
    assert stream.of("metrics"), "no metrics snapshot on the stream"


def test_host_ceiling_tenant_and_campaign_calls_per_second(
    gateway: Callable[..., Gateway],
    witness: AmiWitness,
    sse: Callable[..., SseReader],
) -> None:
    """Two campaigns of one tenant (4 + 4 concurrent = the tenant's 8) on a host whose
    ceiling is 6; the tenant's 5 calls/s binds campaign A (which allows 20/s), campaign B
    has its own 2 calls/s. Measured on Asterisk: channels alive at once, and Newchannel
    events in any 1-second window (a burst of 1 over the rate allowed)."""
    server = gateway(host_max_concurrent_calls=6, extra_numbers=("alt",))
    api = server.tenant("acme", max_calls=8, cps=5)
    server.start()
    phones_a = numbers("05781", 40)  # 16 answered (2 s), 24 fail at once: paced by cps
    phones_b = numbers("0123", 20, exchange=556)  # all answered
    a = api.create(phones_a, max_concurrent_calls=4, max_calls_per_second=20,
                   ring_timeout_seconds=RING)  # fmt: skip
    b = api.create(phones_b, max_concurrent_calls=4, max_calls_per_second=2,
                   ring_timeout_seconds=RING, phone_number_id="alt")  # fmt: skip
    stream_a = sse(server, api, a["id"])
    stream_b = sse(server, api, b["id"])
    assert api.command(a["id"], "start")["status"] == "running"
    started_b = time.monotonic()
    assert api.command(b["id"], "start")["status"] == "running"

    for campaign, phones in ((a, phones_a), (b, phones_b)):
        done = api.wait_status(campaign["id"], "completed", timeout=120)
        expected = expected_counts(phones)
        assert (done["counts"]["completed"], done["counts"]["failed"]) == (
            expected["completed"],
            expected["failed"],
        ), done
        wrong = outcome_mismatches(api.contacts(campaign["id"]))
        assert not wrong, wrong[:5]

    caller_a, caller_b = [server.caller_ids["main"]], [server.caller_ids["alt"]]
    both = caller_a + caller_b
    witness.wait_idle(both, 15)
    witness.check_healthy()
    assert len(witness.calls_of(both)) == 60
    live = {
        "host (6)": (witness.max_live(both), witness.max_sampled(both), 6),
        "campaign A (4)": (witness.max_live(caller_a), witness.max_sampled(caller_a), 4),
        "campaign B (4)": (witness.max_live(caller_b), witness.max_sampled(caller_b), 4),
    }
    over = {k: v for k, v in live.items() if max(v[0], v[1]) > v[2]}
    assert not over, f"concurrency caps exceeded on Asterisk (events, sampled, cap): {over}"
    assert live["host (6)"][0] >= 5, f"host ceiling never approached: {live}"

    rates = {
        "tenant (5/s)": (max_in_window(witness.created_times(both)), 5),
        "campaign B (2/s)": (max_in_window(witness.created_times(caller_b)), 2),
    }
    over = {k: v for k, v in rates.items() if v[0] > v[1] + 1}
    assert not over, f"new channels in a 1 s window on Asterisk (seen, cap): {over}"
    assert rates["tenant (5/s)"][0] >= 4, f"the calls-per-second cap never bound: {rates}"

    stream_a.wait_end(15)
    stream_b.wait_end(15)
    sent = {
        "tenant (5/s)": (max_in_window(originated_times(stream_a) + originated_times(stream_b)), 5),
        "campaign B (2/s)": (max_in_window(originated_times(stream_b)), 2),
    }
    over = {k: v for k, v in sent.items() if v[0] > v[1] + 1}
    assert not over, f"originated transitions in a 1 s window (seen, cap): {over}"

    # Fair share of the tenant's 5 calls/s: B (2/s of its own) is not starved by A; fair
    # would be about 2 of every 5 of the first calls.
    timeline = sorted(
        [(round(t - started_b, 2), "A") for t in witness.created_times(caller_a)]
        + [(round(t - started_b, 2), "B") for t in witness.created_times(caller_b)]
    )
    first_b = sum(1 for _, which in timeline[:20] if which == "B")
    assert first_b >= 5, (
        f"campaign B got {first_b} of the tenant's first 20 calls (fair: about 8): "
        f"(seconds after B's start, campaign) {timeline[:20]}"
    )


def test_pause_resume_stop(
    gateway: Callable[..., Gateway],
    witness: AmiWitness,
    sse: Callable[..., SseReader],
) -> None:
    """Pause: no new channel on Asterisk, calls in flight finish, counts then stand still.
    Resume: dialling goes on. Stop: pending contacts cancelled, calls in flight end and are
    recorded, the stream ends."""
    server = gateway()
    api = server.tenant("acme", max_calls=10, cps=20)
    server.start()
    phones = numbers("01234", 80)
    created = api.create(phones, max_concurrent_calls=5, ring_timeout_seconds=RING)
    cid = created["id"]
    caller = [server.caller_ids["main"]]
    stream = sse(server, api, cid)
    api.command(cid, "start")

    api.wait_for(cid, lambda c: c["counts"]["completed"] >= 10 and in_flight(c) >= 3, 60,
                 "10 completed with calls in flight")  # fmt: skip
    paused = api.command(cid, "pause")
    paused_at = time.monotonic()
    assert paused["status"] == "paused", paused
    settled = api.wait_for(cid, lambda c: in_flight(c) == 0, 20, "in-flight calls finishing")
    witness.wait_idle(caller, 10)
    time.sleep(3)
    still = api.get(cid)
    assert still["status"] == "paused"
    assert still["counts"] == settled["counts"], (settled["counts"], still["counts"])
    late = [c for c in witness.calls_of(caller) if (c.created or 0) > paused_at + GRACE]
    assert not late, f"{len(late)} channels created on Asterisk after the pause"
    dialled_before_resume = len(witness.calls_of(caller))
    # On the stream: no contact originated after the campaign's `paused` event.
    pause_event = next(e for e in stream.of("campaign") if e.data["to"] == "paused")
    after = [e.data for e in stream.of("contact")
             if (e.id or 0) > (pause_event.id or 0) and e.data["to"] == "originated"]  # fmt: skip
    assert not after, f"contacts originated after the pause event: {after[:3]}"

    resumed = api.command(cid, "resume")
    assert resumed["status"] == "running", resumed
    base = settled["counts"]["completed"]
    api.wait_for(cid, lambda c: c["counts"]["completed"] >= base + 5 and in_flight(c) >= 3, 60,
                 "progress after resume with calls in flight")  # fmt: skip
    assert len(witness.calls_of(caller)) > dialled_before_resume

    stopped = api.command(cid, "stop")
    stopped_at = time.monotonic()
    assert stopped["status"] == "stopped", stopped
    assert stopped["counts"]["cancelled"] > 0 and stopped["counts"]["pending"] == 0, stopped
    stream.wait_end(15)
    assert stream.of("end")[-1].data["status"] == "stopped"

    final = api.wait_for(cid, lambda c: in_flight(c) == 0, 20, "in-flight calls ending")
    assert final["status"] == "stopped"
    witness.wait_idle(caller, 10)
    witness.check_healthy()
    contacts = api.contacts(cid)
    assert {c["status"] for c in contacts} <= FINAL, Counter(c["status"] for c in contacts)
    counts = final["counts"]
    assert counts["completed"] + counts["failed"] + counts["cancelled"] == 80, counts
    calls = witness.calls_of(caller)
    late = [c for c in calls if (c.created or 0) > stopped_at + GRACE]
    assert not late, f"{len(late)} channels created on Asterisk after the stop"
    # Every dialled contact is recorded (one channel each), the cancelled ones never rang.
    witness_vs_contacts(calls, contacts)
    assert len(calls) == counts["completed"] + counts["failed"], (len(calls), counts)
    dialled = [c for c in contacts if c["status"] != "cancelled"]
    assert all(c["attempts"] == 1 for c in dialled)
    assert all(c["attempts"] == 0 for c in contacts if c["status"] == "cancelled")
    wrong = outcome_mismatches(dialled)
    assert not wrong, f"calls in flight at stop not recorded as answered: {wrong[:5]}"


def test_retry_after_its_delay(
    gateway: Callable[..., Gateway],
    witness: AmiWitness,
    sse: Callable[..., SseReader],
) -> None:
    """retries_per_contact 1, retry_delay_seconds 60: busy and no-answer are dialled a
    second time, no earlier than 60 s after the first attempt failed; rejected, invalid
    and answered numbers once. Takes about 65 s."""
    server = gateway()
    api = server.tenant("acme", max_calls=10, cps=10)
    server.start()
    phones = ["+14155550005", "+14155550016", "+14155550027", "+14155550038", "+14155550040"]
    created = api.create(phones, retries_per_contact=1, retry_delay_seconds=60,
                         ring_timeout_seconds=RING)  # fmt: skip
    cid = created["id"]
    stream = sse(server, api, cid)
    api.command(cid, "start")
    api.wait_for(cid, lambda c: c["counts"]["pending"] == 2 and in_flight(c) == 0, 30,
                 "busy and no-answer waiting for their retry")  # fmt: skip
    done = api.wait_status(cid, "completed", timeout=90)
    assert done["counts"]["completed"] == 1 and done["counts"]["failed"] == 4, done

    contacts = {c["phone_number"]: c for c in api.contacts(cid)}
    retried = {"+14155550005", "+14155550016"}
    for number, contact in contacts.items():
        wrong = outcome_mismatches([contact], attempts=2 if number in retried else 1)
        assert not wrong, wrong

    stream.wait_end(15)
    check_stream_ids(stream)
    chains = contact_chains(stream)
    for number in retried:
        chain = chains[contacts[number]["id"]]
        path = [(e["from"], e["to"], e["attempt"]) for e in chain]
        assert path == [
            ("pending", "originated", 1),
            ("originated", "pending", 1),
            ("pending", "originated", 2),
            ("originated", "failed", 2),
        ], path
        assert chain[1]["outcome"] == chain[3]["outcome"] == contacts[number]["last_outcome"]
        first_failed, second_sent = parse_time(chain[1]["time"]), parse_time(chain[2]["time"])
        gap = second_sent - first_failed
        assert 59.99 <= gap <= 66, f"{number}: retry {gap:.3f}s after the failed attempt"

    witness.wait_idle([server.caller_ids["main"]], 10)
    witness.check_healthy()
    calls = witness.calls_of([server.caller_ids["main"]])
    witness_vs_contacts(calls, list(contacts.values()))
    for number in retried:
        first, second = sorted(
            (c for c in calls if c.dialled == number), key=lambda c: c.created or 0
        )
        gap = (second.created or 0) - (first.hangup or 0)
        assert gap >= 59.8, f"{number}: on Asterisk, redialled {gap:.2f}s after the hangup"


def test_sigkill_and_restart_mid_campaign(
    gateway: Callable[..., Gateway],
    witness: AmiWitness,
    sse: Callable[..., SseReader],
) -> None:
    """SIGKILL with 10 answered calls in flight, start again on the same database: the
    campaign completes, every contact is accounted for, and Asterisk saw at most one
    channel per contact (nothing redialled)."""
    server = gateway()
    api = server.tenant("acme", max_calls=10, cps=20)
    server.start()
    phones = numbers("01234", 60)
    created = api.create(phones, max_concurrent_calls=10, ring_timeout_seconds=RING)
    cid = created["id"]
    caller = [server.caller_ids["main"]]
    stream = sse(server, api, cid, reconnect=True)
    api.command(cid, "start")
    api.wait_for(cid, lambda c: c["counts"]["completed"] >= 15 and in_flight(c) >= 5, 60,
                 "15 completed with calls in flight")  # fmt: skip

    server.kill()
    killed_at = time.monotonic()
    time.sleep(1.0)
    restart_at = time.monotonic()
    server.start()
    up_at = time.monotonic()
    # Nothing dials while no daemon runs (an Originate written just before the kill may
    # still create its channel a moment after it, as after a pause: GRACE).
    assert not [
        c for c in witness.calls_of(caller) if killed_at + GRACE < (c.created or 0) < restart_at
    ]

    done = api.wait_status(cid, "completed", timeout=60)
    contacts = api.contacts(cid)
    assert {c["status"] for c in contacts} <= {"completed", "failed"}
    assert done["counts"]["completed"] + done["counts"]["failed"] == 60, done
    attempts = Counter(c["attempts"] for c in contacts)
    assert attempts == {1: 60}, f"attempts per contact: {attempts}"

    witness.wait_idle(caller, 15)
    witness.check_healthy()
    calls = witness.calls_of(caller)
    per_contact = Counter(contact_of(c) for c in calls)
    assert [n for n, k in per_contact.items() if k > 1] == [], "a contact dialled twice"
    # At most once: a kill that lands after an attempt's commit and before its Originate
    # is written leaves an attempt nobody can tell from one that rang and ended while the
    # daemon was dead. It is settled lost, never dialled again. The window is a few ms
    # of one dial round: more than two such contacts would be a bug.
    never_sent = [c for c in contacts if c["id"] not in per_contact]
    assert len(never_sent) <= 2, [c["phone_number"] for c in never_sent]
    assert {(c["last_outcome"], c["attempts"]) for c in never_sent} <= {("lost", 1)}
    sent = [c for c in contacts if c["id"] in per_contact]
    assert len(calls) == len(sent) == 60 - len(never_sent), f"{len(calls)} channels"
    witness_vs_contacts(calls, sent)
    check_unheard(sent, calls, heard_until(stream, calls, killed_at), back_at=up_at)

    stream.wait_end(15)
    assert stream.connections >= 2, "the event stream did not come back after the restart"
    check_stream_ids(stream)
    check_chains_end_final(stream, contacts)


def test_ami_cut_and_restored_mid_campaign(
    gateway: Callable[..., Gateway],
    witness: AmiWitness,
    sse: Callable[..., SseReader],
    ami_proxy: AmiProxy,
) -> None:
    """The daemon reaches AMI through a proxy that is cut (connections dropped, new ones
    refused) for a few seconds mid-campaign: /readyz says AMI is not ok meanwhile, nothing
    is dialled while AMI is down, the campaign completes afterwards, no contact is lost and
    no number is dialled twice."""
    server = gateway(ami_port=ami_proxy.port)
    api = server.tenant("acme", max_calls=10, cps=20)
    server.start()
    phones = numbers("01234", 40)
    created = api.create(phones, max_concurrent_calls=8, ring_timeout_seconds=RING)
    cid = created["id"]
    caller = [server.caller_ids["main"]]
    stream = sse(server, api, cid)
    api.command(cid, "start")
    api.wait_for(cid, lambda c: c["counts"]["completed"] >= 8 and in_flight(c) >= 4, 60,
                 "8 completed with calls in flight")  # fmt: skip

    with ReadyPoller(server) as ready:
        ami_proxy.cut()
        cut_at = time.monotonic()
        wait_until(lambda: any(not ok for t, ok in ready.seen if t > cut_at), 15,
                   "/readyz reporting AMI not ok after the cut")  # fmt: skip
        time.sleep(3)
        ami_proxy.restore()
        restored_at = time.monotonic()
        wait_until(lambda: any(ok for t, ok in ready.seen if t > restored_at), 30,
                   "/readyz reporting AMI ok after the restore")  # fmt: skip
        back_at = next(t for t, ok in ready.seen if t > restored_at and ok)
    assert ami_proxy.connections >= 2, "the daemon never reconnected through the proxy"
    during = [
        c for c in witness.calls_of(caller) if cut_at + GRACE < (c.created or 0) < restored_at
    ]
    assert not during, f"{len(during)} channels created while AMI was cut (by whom?)"

    done = api.wait_status(cid, "completed", timeout=60)
    contacts = api.contacts(cid)
    assert {c["status"] for c in contacts} <= {"completed", "failed"}
    assert done["counts"]["completed"] + done["counts"]["failed"] == 40, done
    attempts = Counter(c["attempts"] for c in contacts)
    assert attempts == {1: 40}, f"attempts per contact: {attempts}"

    witness.wait_idle(caller, 15)
    witness.check_healthy()
    calls = witness.calls_of(caller)
    assert len(calls) == 40, f"Asterisk saw {len(calls)} channels for 40 contacts"
    witness_vs_contacts(calls, contacts)
    check_unheard(contacts, calls, heard_until(stream, calls, cut_at), back_at=back_at)

    stream.wait_end(15)
    check_stream_ids(stream)
    check_chains_end_final(stream, contacts)
