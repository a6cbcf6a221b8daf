"""Dialling benchmark: the gateway against the sandbox Asterisk + SIPp, next to a bare asyncio
AMI client firing the same Originates at the same Asterisk, in the same run.

    .venv/bin/python bench/dial.py [--campaigns 4] [--contacts 600] [--concurrency 100]
                                   [--cps 250] [--calling-hours 00:00-23:59] [--dnc 1000000]
                                   [--nodes 1|2]

Starts the sandbox if it does not run (and leaves it running). One tenant runs
`--campaigns` campaigns of `--contacts` answered numbers each (last digits 0-4: SIPp
answers, ~2 s of talk), each campaign at `--concurrency` concurrent calls (the API's
maximum is 100, so several campaigns go higher), the tenant and host capped at the sum and
at `--cps` new calls per second. Then the bare client dials the same numbers at the same
total concurrency and rate. Prints:

- completed calls per second of the gateway (from the start requests to the last contact
  final on the event streams) and of the bare client (first Originate to last Hangup),
  and their ratio;
- cap violations seen from the Asterisk side: our own AMI login follows every channel
  (Newchannel/Hangup: exact concurrency per campaign and in all, new channels per 1-second
  window) and samples CoreShowChannels every 0.5 s; each campaign's channels are told
  apart by their caller ID (one configured phone number per campaign);
- the daemon's CPU seconds (utime + stime from /proc/PID/stat) per 1000 calls;
- AMI-event-to-SSE latency p50/p99: for each contact transition on the event streams
  (connected, completed, failed), the time from our own AMI login receiving the event that
  causes it (Newstate Up / OriginateResponse Success; Hangup) to our SSE client receiving
  the transition. Both clients run on one asyncio loop in this process and time each
  message when its last byte arrived (data_received), so both times come from the same
  clock. Asterisk writes an event to each AMI session separately: ours may get it a few ms
  after the gateway's does, so single latencies can come out slightly negative (min).
  The AMI channel is matched to the contact by its Uniqueid, which is the gateway's
  attempt id, ending in "-<contact id>-<attempt>" (the gateway's current
  format; unmatched transitions are counted and printed);
- the CPU seconds per 1000 calls of the daemon, of Asterisk, of SIPp, of this process and
  of the rest of the machine, and how busy the machine was, in each run.

`--nodes 2`: the same workload through a pool of both sandbox nodes, next to one node, in
the same run: bench/nodes.py. What both share is in bench/dialing.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bare import run_bare
from bench.dialing import (
    cpu_line,
    latency_line,
    make_gateway,
    run_gateway,
    sandbox_pids,
    wait_idle,
)
from bench.nodes import bench_nodes
from tests.integration.support import AmiWitness, random_caller_id, start_sandbox


async def bench(args: argparse.Namespace) -> int:
    if args.nodes == 2:
        return await bench_nodes(args)
    ami = start_sandbox()
    total_concurrency = args.campaigns * args.concurrency
    folder = Path(tempfile.mkdtemp(prefix="bench-dial-"))
    server, api = await asyncio.to_thread(make_gateway, folder, ami, args)
    witness = AmiWitness(ami, sample_interval=0.5)
    await witness.start()
    pids = sandbox_pids({"asterisk": "a"})
    try:
        print(
            f"gateway: {args.campaigns} campaigns x {args.contacts} contacts, "
            f"{args.concurrency} concurrent each ({total_concurrency} in all), "
            f"tenant/host {total_concurrency} concurrent, {args.cps}/s"
        )
        caps = {"default": (total_concurrency, args.cps)}
        run = await run_gateway(server, api, args, {"default": witness}, caps, pids)
        if run.timed_out:
            print(f"gateway: only {run.calls} calls done within {args.timeout}s")
        # The bare client, same numbers, same caps.
        bare_caller = random_caller_id()
        phones, caps_total = run.phones, total_concurrency
        bare = await run_bare({"a": ami}, phones, caps_total, args.cps, bare_caller, pids)
        await wait_idle([witness], [bare_caller], 30)
        bare_peak = witness.max_live([bare_caller])
    finally:
        await witness.close()
        code = await asyncio.to_thread(server.stop)
    violations = [f"{where}: {v}" for where, found in run.violations.items() for v in found]
    print(
        f"gateway: {run.calls} calls ({run.completed} completed, {run.failed} failed) in "
        f"{run.seconds:.1f} s from the start requests (first channel after "
        f"{run.first_channel:.2f} s): {run.rate:.1f} calls/s; peak "
        f"{run.peaks['all']} channels alive"
    )
    print(
        f"bare AMI client: {bare.calls} calls ({bare.answered} answered) in "
        f"{bare.seconds:.1f} s: {bare.rate:.1f} calls/s; peak {bare_peak} alive"
    )
    print(f"ratio gateway / bare: {run.rate / bare.rate:.2f}")
    print(f"cap violations seen on Asterisk: {len(violations)} {violations or ''}")
    print(
        f"gateway CPU: {run.cpu['gateway']:.2f} s for {run.calls} calls = "
        f"{run.cpu['gateway'] / max(run.calls, 1) * 1000:.2f} s per 1000 calls"
    )
    print(latency_line(run))
    print(f"gateway run {cpu_line(run.cpu, run.calls)}")
    print(f"bare run {cpu_line(bare.cpu, bare.calls)}")
    if code != 0:
        print(f"daemon exit code {code} on SIGTERM (log {server.log})", file=sys.stderr)
    return 0 if not violations and code == 0 and not run.timed_out else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=600, help="per campaign (<= 1000)")
    parser.add_argument("--concurrency", type=int, default=100, help="per campaign (<= 100)")
    parser.add_argument("--cps", type=float, default=250.0, help="tenant and host calls/s")
    parser.add_argument("--timeout", type=float, default=150.0)
    parser.add_argument(
        "--calling-hours",
        default="",
        help='operator hours, e.g. "00:00-23:59" (every call checked, all open); default off',
    )
    parser.add_argument("--dnc", type=int, default=0, help="numbers on the do-not-call lists")
    parser.add_argument(
        "--nodes",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: a pool of both sandbox nodes next to node a alone (bench/nodes.py)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="--nodes 2: rounds, one node and two nodes in swapped order each round",
    )
    args = parser.parse_args()
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
