"""The bare client of the dialling benchmark (bench/dial.py, bench/nodes.py): stdlib
asyncio and nothing else, on one node or one client per node, the baseline the gateway's
rate is compared with in the same run."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dialing import RING_TIMEOUT_S, CpuMeter, share
from tests.integration.support import AmiSettings


class BareAmi:
    """Logs in, fires Async Originates with ChannelId, counts a call done when both its
    Hangup and its OriginateResponse arrived."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.pending: dict[str, asyncio.Future[None]] = {}
        self.seen: dict[str, set[str]] = {}
        self.answered = 0
        self.ended_at: list[float] = []

    async def connect(self) -> None:
        s = self.settings
        self.reader, self.writer = await asyncio.open_connection(s.host, s.port, limit=1 << 20)
        await self.reader.readline()
        self.login = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self.read())
        self.send(Action="Login", ActionID="login", Username=s.username, Secret=s.secret)
        reply = await asyncio.wait_for(self.login, 5)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"bare client: login refused: {reply}")

    def send(self, **headers: Any) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(text.encode())

    async def read(self) -> None:
        while True:
            try:
                block = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            m: dict[str, str] = {}
            for line in block.decode(errors="replace").split("\r\n"):
                name, sep, value = line.partition(":")
                if sep:
                    m.setdefault(name, value.strip())
            if m.get("ActionID") == "login" and "Event" not in m:
                self.login.set_result(m)
                continue
            event = m.get("Event")
            if event not in ("Hangup", "OriginateResponse"):
                continue
            uid = m.get("Uniqueid", "")
            if uid not in self.pending:
                uid = m.get("ActionID", "")  # an OriginateResponse without a channel
            if uid not in self.pending:
                continue
            got = self.seen.setdefault(uid, set())
            got.add(event)
            if event == "OriginateResponse" and m.get("Reason") == "4":
                self.answered += 1
            if event == "OriginateResponse" and m.get("Uniqueid") in ("", "<null>"):
                got.add("Hangup")  # no channel was created: no Hangup will come
            if got >= {"Hangup", "OriginateResponse"}:
                future = self.pending.pop(uid)
                self.ended_at.append(time.monotonic())
                if not future.done():
                    future.set_result(None)

    async def originate(self, attempt_id: str, number: str, caller_id: str) -> None:
        future = self.pending[attempt_id] = asyncio.get_running_loop().create_future()
        self.send(
            Action="Originate",
            ActionID=attempt_id,
            ChannelId=attempt_id,
            Channel=f"PJSIP/{number}@carrier",
            Context="campaign",
            Exten="s",
            Priority=1,
            Timeout=RING_TIMEOUT_S * 1000,
            CallerID=caller_id,
            Async="true",
        )
        await asyncio.wait_for(future, RING_TIMEOUT_S + 60)

    async def run(
        self, phones: list[str], concurrency: int, cps: float, caller_id: str
    ) -> tuple[float, float]:
        """Dials every number, at most `concurrency` at once and `cps` new a second
        (the same token bucket rule: one call per 1/cps seconds, a burst of one)."""
        slots = asyncio.Semaphore(concurrency)
        prefix = uuid.uuid4().hex[:8]
        interval = 1.0 / cps
        tasks = []
        first = time.monotonic()
        next_at = first
        for i, number in enumerate(phones):
            await slots.acquire()
            now = time.monotonic()
            if now < next_at:
                await asyncio.sleep(next_at - now)
            next_at = max(next_at + interval, time.monotonic() - interval)

            async def one(i: int = i, number: str = number) -> None:
                try:
                    await self.originate(f"bare-{prefix}-{i}", number, caller_id)
                finally:
                    slots.release()

            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        return first, max(self.ended_at)

    async def close(self) -> None:
        self.writer.close()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@dataclass
class BareRun:
    calls: int
    answered: int
    seconds: float  # first Originate to last call done, over every node
    by_node: dict[str, int]  # calls dialled on each node
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


async def run_bare(
    nodes: dict[str, AmiSettings],
    phones: list[str],
    concurrency: int,
    cps: float,
    caller_id: str,
    pids: dict[str, int | None],
) -> BareRun:
    """One bare client per node, all at once, each dialling every n-th number at its
    share of the concurrency and of the rate (the split the gateway's node caps make)."""
    clients = [BareAmi(settings) for settings in nodes.values()]
    for client in clients:
        await client.connect()
    parts = [phones[i :: len(nodes)] for i in range(len(nodes))]
    meter = CpuMeter(pids)
    limits = share(concurrency, len(nodes))
    try:
        spans = await asyncio.gather(
            *(
                client.run(part, limit, cps / len(nodes), caller_id)
                for client, part, limit in zip(clients, parts, limits, strict=True)
            )
        )
    finally:
        for client in clients:
            await client.close()
    cpu = meter.stop()
    seconds = max(last for _, last in spans) - min(first for first, _ in spans)
    answered = sum(client.answered for client in clients)
    by_node = {node: len(part) for node, part in zip(nodes, parts, strict=True)}
    return BareRun(len(phones), answered, seconds, by_node, cpu)
