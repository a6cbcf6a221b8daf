"""`bench/dial.py --nodes 2`: the dialling workload through a pool of both sandbox
Asterisk nodes (`scripts/sandbox start --nodes 2`: a on AMI 5038, b on 5039, one SIPp far
end), next to one node, in the same run on the same loaded machine.

Four runs (a round), one after the other, of the same numbers and the same tenant caps (the sum
of the campaigns' concurrency, and `--cps`):

1. the gateway with `[[asterisk_nodes]]` node a only, its caps the tenant's: one node;
2. the gateway with nodes a and b, each capped at its share, half the tenant's
   concurrency and half its rate: the same work offered, spread over two Asterisks;
3. the bare client on node a at the tenant's caps (as bench/dial.py without --nodes);
4. one bare client per node, all at once, each at that node's share: the two-node
   baseline, so that the gateway's two-node rate is also compared with what the two
   Asterisks gave a client that does nothing else.

`--rounds N` repeats the round, the order of one node and two nodes swapped each time
(the first daemon of a session may meet a colder machine: the swap shows such an order
effect instead of hiding it in the ratio).

The pool is given the same work, not twice as much, because this machine has 2 cores
for both Asterisks, SIPp, the daemon and this process: a second node here adds no CPU,
so a doubled load would only measure the machine's ceiling. What the pool must show is
that the work spreads over both nodes, every cap holds per node and across nodes, and
what it costs next to one node.

Prints, per run: completed calls per second in all and per node, per node both from our
own AMI login on that node (channels of the run that ended there) and from the contacts'
`node` field (they must agree); peak channels alive per node and across nodes; cap
violations per node and across nodes (campaigns, tenant) as the logins saw them; the
CPU per 1000 calls of the daemon, of each Asterisk, of SIPp, of this process and the rest, and how
busy the machine was; then the ratios two nodes / one node (gateway and bare) and
gateway / bare (one node and two), and a closing note from those figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bare import BareRun, run_bare
from bench.dialing import (
    GatewayRun,
    cpu_line,
    latency_line,
    make_gateway,
    run_gateway,
    sandbox_pids,
    share,
    wait_idle,
)
from tests.integration.nodes import NodeOption, start_nodes
from tests.integration.support import AmiSettings, AmiWitness, random_caller_id

ONE, TWO = "one node", "two nodes"


def pools(nodes: dict[str, AmiSettings], args: argparse.Namespace) -> dict[str, tuple]:
    """The `[[asterisk_nodes]]` of each gateway: node a alone at the tenant's caps, or
    a and b each at its share (concurrency split as evenly as whole calls allow)."""
    total = args.campaigns * args.concurrency
    limit_a, limit_b = share(total, 2)
    return {
        ONE: (NodeOption("a", nodes["a"], total, args.cps),),
        TWO: (
            NodeOption("a", nodes["a"], limit_a, args.cps / 2),
            NodeOption("b", nodes["b"], limit_b, args.cps / 2),
        ),
    }


async def bench_nodes(args: argparse.Namespace) -> int:
    nodes = await asyncio.to_thread(start_nodes)
    configured = pools(nodes, args)
    total = args.campaigns * args.concurrency
    pids = sandbox_pids({f"asterisk {n}": n for n in nodes})
    witnesses = {n: AmiWitness(settings, sample_interval=0.5) for n, settings in nodes.items()}
    for witness in witnesses.values():
        await witness.start()
    print(
        f"workload: {args.campaigns} campaigns x {args.contacts} contacts, "
        f"{args.concurrency} concurrent each; tenant {total} concurrent, {args.cps}/s in "
        "every run; node caps: "
        + "; ".join(
            f"{label} "
            + " + ".join(f"{o.id} {o.max_concurrent_calls}, {o.max_calls_per_second}/s" for o in p)
            for label, p in configured.items()
        )
    )
    ok, rounds = True, []
    try:
        for round_ in range(args.rounds):
            order = [ONE, TWO] if round_ % 2 == 0 else [TWO, ONE]  # an order effect shows
            if args.rounds > 1:
                print(f"-- round {round_ + 1} of {args.rounds}: {' then '.join(order)}")
            passed, runs, bares = await one_round(args, nodes, configured, order, witnesses, pids)
            ok &= passed
            rounds.append((runs, bares))
    finally:
        for witness in witnesses.values():
            await witness.close()
    if len(rounds) > 1:
        print("-- every round")
        for what, ratio in (
            ("gateway two nodes / one node", lambda r, b: r[TWO].rate / r[ONE].rate),
            ("bare two nodes / one node", lambda r, b: b[TWO].rate / b[ONE].rate),
            ("gateway / bare, one node", lambda r, b: r[ONE].rate / b[ONE].rate),
            ("gateway / bare, two nodes", lambda r, b: r[TWO].rate / b[TWO].rate),
        ):
            print(f"{what}: " + ", ".join(f"{ratio(r, b):.2f}" for r, b in rounds))
    print(closing_note(rounds))
    return 0 if ok else 1


async def one_round(
    args: argparse.Namespace,
    nodes: dict[str, AmiSettings],
    configured: dict[str, tuple],
    order: list[str],
    witnesses: dict[str, AmiWitness],
    pids: dict[str, int | None],
) -> tuple[bool, dict[str, GatewayRun], dict[str, BareRun]]:
    """Both gateways, then both bare baselines, each pair in `order`; prints the figures.
    (True when no cap broke, nothing timed out, each daemon stopped cleanly and the
    witnesses and the contacts agree per node; the gateway runs; the bare runs)."""
    total = args.campaigns * args.concurrency
    runs: dict[str, GatewayRun] = {}
    codes: dict[str, int] = {}
    for label in order:
        pool = configured[label]
        folder = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
        server, api = await asyncio.to_thread(make_gateway, folder, nodes["a"], args, nodes=pool)
        try:
            caps = {o.id: (o.max_concurrent_calls, o.max_calls_per_second) for o in pool}
            runs[label] = await run_gateway(server, api, args, witnesses, caps, pids)
        finally:
            codes[label] = await asyncio.to_thread(server.stop)
        if codes[label] != 0:
            print(f"{label}: daemon exit code {codes[label]} (log {server.log})")
    phones = runs[ONE].phones
    bares: dict[str, BareRun] = {}
    bare_peaks: dict[str, dict[str, int]] = {}
    for label in order:
        caller = random_caller_id()
        settings = {n: nodes[n] for n in (["a"] if label == ONE else ["a", "b"])}
        bares[label] = await run_bare(settings, phones, total, args.cps, caller, pids)
        await wait_idle(witnesses.values(), [caller], 30)
        bare_peaks[label] = {n: w.max_live([caller]) for n, w in witnesses.items()}
    runs = {label: runs[label] for label in (ONE, TWO)}
    bares = {label: bares[label] for label in (ONE, TWO)}
    agree = report(runs, bares, bare_peaks)
    broken = sum(len(v) for run in runs.values() for v in run.violations.values())
    timed_out = any(run.timed_out for run in runs.values())
    return agree and not broken and not timed_out and not any(codes.values()), runs, bares


def report(
    runs: dict[str, GatewayRun], bares: dict[str, BareRun], bare_peaks: dict[str, dict]
) -> bool:
    """Prints the figures; True when the witnesses and the contacts agree per node."""
    agree = True
    for label, run in runs.items():
        per_node = []
        for node, channels in run.channels.items():
            contacts = run.contact_nodes.get(node, 0)
            agree &= contacts == channels
            per_node.append(
                f"node {node} {channels / run.seconds:.1f}/s ({channels} channels ended there,"
                f" {contacts} contacts say {node})"
            )
        others = {n: k for n, k in run.contact_nodes.items() if n not in run.channels}
        agree &= not others
        print(
            f"gateway, {label}: {run.calls} calls ({run.completed} completed, {run.failed} "
            f"failed) in {run.seconds:.1f} s from the start requests (first channel after "
            f"{run.first_channel:.2f} s): {run.rate:.1f} calls/s in all; "
            + "; ".join(per_node)
            + (f"; contacts on unwatched nodes {others}" if others else "")
            + "; peak alive "
            + ", ".join(f"{n} {k}" for n, k in run.peaks.items())
            + (" (TIMED OUT)" if run.timed_out else "")
        )
    for label, bare in bares.items():
        print(
            f"bare AMI client{'s' if len(bare.by_node) > 1 else ''}, {label}: {bare.calls} "
            f"calls ({bare.answered} answered) in {bare.seconds:.1f} s: {bare.rate:.1f} "
            f"calls/s; calls per node "
            + ", ".join(f"{n} {k}" for n, k in bare.by_node.items())
            + "; peak alive "
            + ", ".join(f"{n} {k}" for n, k in bare_peaks[label].items())
        )
    one, two = runs[ONE], runs[TWO]
    print(
        f"ratio two nodes / one node: gateway {two.rate / one.rate:.2f}, "
        f"bare {bares[TWO].rate / bares[ONE].rate:.2f}"
    )
    print(
        f"ratio gateway / bare: one node {one.rate / bares[ONE].rate:.2f}, "
        f"two nodes {two.rate / bares[TWO].rate:.2f}"
    )
    print(
        "per node, witnesses' channels and contacts' node: "
        + ("agree" if agree else "DISAGREE (see the lines above)")
    )
    for label, run in runs.items():
        counts = ", ".join(f"{where} {len(found)}" for where, found in run.violations.items())
        found = [f"{where}: {v}" for where, vs in run.violations.items() for v in vs]
        total = len(found)
        print(f"cap violations seen on Asterisk, {label}: {counts}; total {total} {found or ''}")
    print(
        "gateway CPU per 1000 calls: "
        + ", ".join(
            f"{label} {run.cpu['gateway'] / max(run.calls, 1) * 1000:.2f} s"
            for label, run in runs.items()
        )
    )
    for label, run in runs.items():
        print(f"gateway, {label}: {latency_line(run)}")
    for label, run in runs.items():
        print(f"gateway, {label}: {cpu_line(run.cpu, run.calls)}")
    for label, bare in bares.items():
        print(f"bare, {label}: {cpu_line(bare.cpu, bare.calls)}")
    return agree


def closing_note(rounds: list[tuple[dict[str, GatewayRun], dict[str, BareRun]]]) -> str:
    def spread(values: list[float], unit: str) -> str:
        low, high = f"{min(values):.0f}", f"{max(values):.0f}"
        return f"{low}{unit}" if low == high else f"{low}-{high}{unit}"

    busy = ", ".join(
        f"{kind} {label} " + spread([group[label].cpu["busy %"] * 100 for group in groups], "%")
        for kind, groups in (("gateway", [r for r, _ in rounds]), ("bare", [b for _, b in rounds]))
        for label in (ONE, TWO)
    )
    asterisk = {
        label: [
            sum(v for k, v in r[label].cpu.items() if k.startswith("asterisk"))
            / r[label].calls
            * 1000
            for r, _ in rounds
        ]
        for label in (ONE, TWO)
    }
    return (
        f"note: both Asterisks, SIPp, the daemon and this process share this machine's "
        f"{os.cpu_count()} cores (busy: {busy}; Asterisk CPU s per 1000 calls, both nodes "
        "together: "
        + ", ".join(f"{label} " + "/".join(f"{s:.2f}" for s in v) for label, v in asterisk.items())
        + "). A second node here splits the same cores, it adds none: the two-node ratio "
        "shows what spreading the same work over two Asterisks costs or saves (their "
        "per-process overheads and locks), not how far throughput grows with nodes. What "
        "it does show: the calls spread over both nodes, each node's caps and the tenant's "
        "caps across nodes hold, per-node counts agree between Asterisk and the contacts, "
        "and the daemon's CPU per call with two nodes. Throughput per node added needs each "
        "Asterisk (and the far end) on its own machine."
    )
