"""A pool of two real Asterisk nodes (issue 11): one daemon dials through the sandbox's
node a and node b, against the same SIPp far end. Caps are measured per node by a witness
AMI login on each; the far end's own record of the INVITEs it received says which node
sent each call and that no number was ever dialled twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.integration.nodes import (
    FarEndRecord,
    NodeOption,
    dialled_twice,
    kill_node_b,
    node_pid,
    start_node_b,
)
from tests.integration.support import (
    AmiSettings,
    AmiWitness,
    Gateway,
    SseReader,
    max_overlap,
    numbers,
    wait_until,
)
from tests.integration.test_dialling import RING, expected_counts, outcome_mismatches

pytestmark = pytest.mark.integration

FINAL = {"completed", "failed", "cancelled"}


def pool(
    gateway: Callable[..., Gateway], a: AmiSettings, b: AmiSettings, a_calls: int, b_calls: int,
    **options: object,
) -> Gateway:  # fmt: skip
    nodes = (
        NodeOption("a", a, max_concurrent_calls=a_calls, max_calls_per_second=20),
        NodeOption("b", b, max_concurrent_calls=b_calls, max_calls_per_second=20,
                   secret_in_env=True),
    )  # fmt: skip
    return gateway(nodes=nodes, **options)


def intervals(witness: AmiWitness, caller_ids: list[str]) -> list[tuple[float, float]]:
    return [(c.created, c.hangup) for c in witness.calls_of(caller_ids)
            if c.created is not None and c.hangup is not None]  # fmt: skip


def test_a_campaign_spreads_over_both_nodes_under_each_nodes_caps(
    gateway: Callable[..., Gateway],
    sandbox: AmiSettings,
    sandbox_b: AmiSettings,
    witness: AmiWitness,
    witness_b: AmiWitness,
    far_end: FarEndRecord,
    sse: Callable[..., SseReader],
) -> None:
    """Node a takes 3 calls at once, node b 5, the tenant (and campaign) 6 in all: that cap
    holds across both nodes, each node's own cap on that node, and calls go to both."""
    server = pool(gateway, sandbox, sandbox_b, a_calls=3, b_calls=5)
    api = server.tenant("acme", max_calls=6, cps=20)
    server.start()
    phones = numbers("01234", 30, exchange=571)  # all answered, about 2 s each
    campaign = api.create(phones, max_concurrent_calls=6, ring_timeout_seconds=RING)
    stream = sse(server, api, campaign["id"])
    api.command(campaign["id"], "start")
    done = api.wait_status(campaign["id"], "completed", timeout=120)
    assert done["counts"]["completed"] == 30, done
    contacts = api.contacts(campaign["id"])
    assert not outcome_mismatches(contacts), outcome_mismatches(contacts)[:5]

    caller = [server.caller_ids["main"]]
    witness.wait_idle(caller, 15)
    witness_b.wait_idle(caller, 15)
    on_a, on_b = witness.calls_of(caller), witness_b.calls_of(caller)
    assert len(on_a) + len(on_b) == 30
    assert on_a and on_b, f"a {len(on_a)} calls, b {len(on_b)}: not spread"
    live = {
        "node a (3)": (witness.max_live(caller), witness.max_sampled(caller), 3),
        "node b (5)": (witness_b.max_live(caller), witness_b.max_sampled(caller), 5),
        "tenant (6)": (max_overlap(intervals(witness, caller) + intervals(witness_b, caller)),
                       0, 6),
    }  # fmt: skip
    over = {k: v for k, v in live.items() if max(v[0], v[1]) > v[2]}
    assert not over, f"caps exceeded on Asterisk (events, sampled, cap): {over}"
    assert live["tenant (6)"][0] >= 5, f"the tenant's cap was never approached: {live}"
    # Least loaded relative to capacity: 6 calls split about 2 on a (of 3), 4 on b (of 5).
    assert live["node a (3)"][0] >= 2 and live["node b (5)"][0] >= 3, live

    # The far end heard each number once, from the node the contact says.
    invites = far_end.wait_numbers(phones, 15)
    assert not dialled_twice(invites)
    sent_by = {i.number: i.node for i in invites if i.number in set(phones)}
    assert {c["phone_number"]: c["node"] for c in contacts} == sent_by
    assert Counter(sent_by.values()) == {"a": len(on_a), "b": len(on_b)}
    stream.wait_end(15)
    nodes_seen = {e.data.get("node") for e in stream.of("contact")}
    assert nodes_seen == {"a", "b"}, nodes_seen
    metrics = [e.data["calls_by_node"] for e in stream.of("metrics")]
    assert metrics and all(set(m) == {"a", "b"} for m in metrics), metrics[:3]


def test_sigkill_of_one_node_mid_campaign_completes_on_the_other_without_a_second_dial(
    gateway: Callable[..., Gateway],
    sandbox: AmiSettings,
    sandbox_b: AmiSettings,
    far_end: FarEndRecord,
) -> None:
    """Node b's Asterisk is SIGKILLed with calls up: the campaign goes on through node a
    and completes, every contact final, no number dialled twice by either node (the far
    end's record); b's calls are settled after node_lost_after_seconds. Node b brought
    back is reconciled and takes calls again."""
    server = pool(gateway, sandbox, sandbox_b, a_calls=4, b_calls=4,
                  dialer={"node_lost_after_seconds": 5})  # fmt: skip
    api = server.tenant("acme", max_calls=8, cps=10)
    server.start()
    phones = numbers("0123", 40, exchange=572)  # answered, about 2 s each
    # Retries allowed: a call lost with its node must still never be dialled again.
    campaign = api.create(phones, max_concurrent_calls=8, retries_per_contact=2,
                          retry_delay_seconds=60, ring_timeout_seconds=RING)  # fmt: skip
    mark = far_end.mark()
    try:
        api.command(campaign["id"], "start")
        far_end.wait_for(lambda seen: sum(i.node == "b" for i in seen) >= 4, 30, mark,
                         "four calls through node b")  # fmt: skip
        killed_pid = kill_node_b()
        killed_at = time.time()
        wait_until(lambda: server.node_states().get("b") == "connecting", 15, "b seen down")
        status, body = server.readyz()
        assert status == 200 and body["nodes"]["a"]["state"] == "ready", body

        done = api.wait_status(campaign["id"], "completed", timeout=120)
        contacts = api.contacts(campaign["id"])
        assert {c["status"] for c in contacts} <= FINAL
        assert sum(done["counts"][s] for s in FINAL) == 40, done
        invites = far_end.since(mark)
        ours = [i for i in invites if i.number in set(phones)]
        assert not dialled_twice(ours), dialled_twice(ours)
        assert {i.number for i in ours} == set(phones)  # every one dialled, once
        # After the kill (and SIPp's clock, a second of slack), only node a dialled.
        late = [i for i in ours if i.time > killed_at + 1 and i.node != "a"]
        assert not late, late[:5]
        by_number = {c["phone_number"]: c for c in contacts}
        on_b = [i.number for i in ours if i.node == "b"]
        for number in on_b:
            contact = by_number[number]
            assert contact["node"] == "b" and contact["attempts"] == 1, contact
        cut = [by_number[n] for n in on_b if by_number[n]["talk_seconds"] is None]
        assert cut, "no call of node b was cut by the kill"
        for contact in cut:  # up when b died: settled after node_lost_after_seconds
            assert "node 'b' was unreachable for 5 s" in contact["hangup_cause_text"], contact
        on_a = [c for c in contacts if c["node"] == "a"]
        assert not outcome_mismatches(on_a), outcome_mismatches(on_a)[:5]
    finally:
        if node_pid("b") is None:
            start_node_b()

    # Back: node b is reconciled and takes calls again.
    assert node_pid("b") not in (None, killed_pid)
    wait_until(lambda: server.node_states().get("b") == "ready", 30, "node b ready again")
    more = numbers("0", 8, exchange=573)
    second = api.create(more, max_concurrent_calls=8, ring_timeout_seconds=RING)
    mark = far_end.mark()
    api.command(second["id"], "start")
    api.wait_status(second["id"], "completed", timeout=60)
    invites = far_end.wait_numbers(more, 15, mark)
    assert {i.node for i in invites if i.number in set(more)} == {"a", "b"}
    assert not dialled_twice(invites)


def test_a_number_carried_by_one_node_dials_only_through_it(
    gateway: Callable[..., Gateway],
    sandbox: AmiSettings,
    sandbox_b: AmiSettings,
    witness: AmiWitness,
    witness_b: AmiWitness,
    far_end: FarEndRecord,
) -> None:
    server = pool(gateway, sandbox, sandbox_b, a_calls=10, b_calls=2,
                  extra_numbers=("only_b",), number_nodes={"only_b": ("b",)})  # fmt: skip
    api = server.tenant("acme", max_calls=10, cps=20)
    server.start()
    phones = numbers("0125678", 14, exchange=574)  # answered, busy, no answer, ...
    campaign = api.create(phones, max_concurrent_calls=10, phone_number_id="only_b",
                          ring_timeout_seconds=RING)  # fmt: skip
    api.command(campaign["id"], "start")
    done = api.wait_status(campaign["id"], "completed", timeout=120)
    expected = expected_counts(phones)
    assert (done["counts"]["completed"], done["counts"]["failed"]) == (
        expected["completed"], expected["failed"],
    ), done  # fmt: skip
    contacts = api.contacts(campaign["id"])
    assert not outcome_mismatches(contacts), outcome_mismatches(contacts)[:5]
    assert {c["node"] for c in contacts} == {"b"}
    caller = [server.caller_ids["only_b"]]
    witness_b.wait_idle(caller, 15)
    assert len(witness_b.calls_of(caller)) == 14
    assert witness.calls_of(caller) == []  # node a never saw one
    assert witness_b.max_live(caller) <= 2
    invites = [i for i in far_end.wait_numbers(phones, 15) if i.number in set(phones)]
    assert sorted(i.number for i in invites) == sorted(phones)  # each once
    assert {i.node for i in invites} == {"b"}
