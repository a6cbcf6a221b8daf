"""SSE fan-out benchmark: N event streams on a campaign dialling on the sandbox Asterisk,
half of them reading, half stalled (connected, never reading: their socket buffers fill),
against the same campaign with no stream at all, in the same run.

    .venv/bin/python bench/sse.py [--subscribers 1000] [--contacts 240] [--concurrency 30]
                                  [--cps 30]

Starts the sandbox if it does not run (and leaves it running). One daemon; the tenant's
stream limit is raised to N. Two campaigns of `--contacts` answered numbers (~2 s of talk),
one after the other: the first with no stream, the second with N. The streams are opened
by a child process (so that their reading does not load the loop that measures), before
the campaign starts. Meanwhile this process GETs the campaign every 20 ms: the latency
of those plain API requests, and the time from the start request until the campaign reads
`completed`. Prints:

- API latency p50/p99/max without and with the streams;
- the dial time of each campaign and their ratio (no streams / with streams: 1.0 means
  the streams cost the dialling nothing);
- that every reading stream got every stored event (ids from the start, none twice);
- the daemon's peak RSS (VmHWM) and its RSS at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from tests.integration.support import (
    Api,
    Gateway,
    GatewayOptions,
    numbers,
    start_sandbox,
)

RING_TIMEOUT_S = 20


def _raise_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _rss_mb(pid: int) -> tuple[float, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


# -- the child: the streams ---------------------------------------------------------------


async def _read_stream(session: aiohttp.ClientSession, url: str, key: str) -> list[int]:
    """Every stored event's id, from the first (Last-Event-ID 0), until `event: end`."""
    ids: list[int] = []
    headers = {"Authorization": f"Bearer {key}", "Last-Event-ID": "0"}
    async with session.get(url, headers=headers) as response:
        assert response.status == 200, response.status
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line == "event: end":
                break
            if line.startswith("id: ") and line != "id: 0":  # not the opener's position
                ids.append(int(line[4:]))
    return ids


async def _stalled(port: int, path: str, key: str) -> asyncio.StreamWriter:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    _, writer = await asyncio.open_connection(sock=sock)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    return writer  # never read


async def _subscribers(port: int, key: str, campaign_id: str, count: int) -> None:
    _raise_file_limit()
    path = f"/api/v1/campaigns/{campaign_id}/events"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        readers = [
            asyncio.create_task(_read_stream(session, f"http://127.0.0.1:{port}{path}", key))
            for _ in range(count // 2)
        ]
        stalled = [await _stalled(port, path, key) for _ in range(count - count // 2)]
        print("opened", flush=True)
        results = await asyncio.gather(*readers, return_exceptions=True)
        good = [r for r in results if isinstance(r, list)]
        errors = [repr(r) for r in results if not isinstance(r, list)]
        complete = sum(1 for ids in good if ids == list(range(ids[0], ids[0] + len(ids))))
        print(json.dumps({"readers": len(readers), "ended": len(good), "errors": errors[:3],
                          "contiguous": complete,
                          "events": statistics.median(len(i) for i in good) if good else 0}),
              flush=True)  # fmt: skip
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for writer in stalled:
            writer.close()


# -- the parent: the daemon, the probe, the campaigns --------------------------------------


async def _campaign(server: Gateway, api: Api, exchange: int, args: argparse.Namespace,
                    subscribers: int) -> dict[str, Any]:  # fmt: skip
    phones = numbers("01234", args.contacts, exchange=exchange)
    created = await asyncio.to_thread(
        api.create, phones, max_concurrent_calls=args.concurrency,
        ring_timeout_seconds=RING_TIMEOUT_S,
    )  # fmt: skip
    cid = created["id"]
    child = None
    if subscribers:
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", str(server.port), api.key, cid,
            str(subscribers), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 120)
        assert line.strip() == b"opened", line
    latencies: list[float] = []
    url = f"{server.url}/api/v1/campaigns/{cid}"
    headers = {"Authorization": f"Bearer {api.key}"}
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        await asyncio.to_thread(api.command, cid, "start")
        done_at = None
        while done_at is None and time.monotonic() - started < args.timeout:
            sent = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                body = await response.json()
            latencies.append((time.perf_counter() - sent) * 1000)
            if body["status"] == "completed":
                done_at = time.monotonic()
            await asyncio.sleep(0.02)
    result: dict[str, Any] = {
        "dial_seconds": (done_at or time.monotonic()) - started,
        "completed": body["counts"]["completed"],
        "latencies": latencies,
        "timed_out": done_at is None,
    }
    if child is not None:
        assert child.stdout is not None and child.stdin is not None
        stats = await asyncio.wait_for(child.stdout.readline(), 60)
        result["streams"] = json.loads(stats)
        child.stdin.close()
        await child.wait()
    return result


def _latency(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"


async def bench(args: argparse.Namespace) -> int:
    _raise_file_limit()
    ami = start_sandbox()
    folder = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    options = GatewayOptions(
        host_max_concurrent_calls=args.concurrency, host_max_calls_per_second=args.cps
    )
    server = Gateway(folder, ami, options)
    config = server.daemon.config
    limit = f"max_streams_per_tenant = {max(args.subscribers, 1)}\n"
    config.write_text(config.read_text().replace("[http]\n", "[http]\n" + limit, 1))
    api = server.tenant("bench", max_calls=args.concurrency, cps=args.cps)
    await asyncio.to_thread(server.start)
    try:
        alone = await _campaign(server, api, 555, args, 0)
        crowd = await _campaign(server, api, 556, args, args.subscribers)
        peak, now = _rss_mb(server.pid)
    finally:
        await asyncio.to_thread(server.stop)
    n = args.subscribers
    print(f"campaign: {args.contacts} answered contacts, {args.concurrency} concurrent, "
          f"{args.cps}/s; streams: {n} ({n // 2} reading, {n - n // 2} stalled)")  # fmt: skip
    print(f"API latency without streams: {_latency(alone['latencies'])}")
    print(f"API latency with {n} streams: {_latency(crowd['latencies'])}")
    ratio = alone["dial_seconds"] / crowd["dial_seconds"]
    print(f"dial time: {alone['dial_seconds']:.1f} s without streams, "
          f"{crowd['dial_seconds']:.1f} s with: ratio {ratio:.2f}")  # fmt: skip
    streams = crowd.get("streams", {})
    print(f"reading streams: {streams.get('ended')} of {streams.get('readers')} got to the end, "
          f"{streams.get('contiguous')} with every event id once and in order, median "
          f"{streams.get('events')} events each; errors: {streams.get('errors')}")  # fmt: skip
    print(f"daemon RSS: peak {peak:.0f} MB, at the end {now:.0f} MB")
    bad = alone["timed_out"] or crowd["timed_out"] or streams.get("errors")
    return 1 if bad else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        port, key, campaign_id, count = sys.argv[2:6]
        asyncio.run(_subscribers(int(port), key, campaign_id, int(count)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=240)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--cps", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
