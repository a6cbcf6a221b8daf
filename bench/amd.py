"""Answering-machine detection, measured: the corpus of generated greetings dialled through
the real AMD() of the sandbox Asterisk.

    .venv/bin/python bench/amd.py [--rounds 1] [--concurrency 8] [--ami-port PORT]

Starts the sandbox if it does not run (and leaves it running). For every greeting of
tests/sandbox/greetings.txt (half person-like, half machine-like: "Hello?" then silence,
or a long sentence then a beep), a bare asyncio AMI client sends one Async Originate of
`PJSIP/<its number>@carrier` to `gateway-amd,s,1` (asterisk-config/extensions.conf), the
context the gateway uses for campaigns with amd = on, with no agent variables: after its
verdict the dialplan hangs up. SIPp (tests/sandbox/far-end.xml) answers the number with
that greeting over RTP. The verdict is the GatewayAMD UserEvent of the call (matched by
its Uniqueid, the ChannelId of the Originate).

Prints the amd.conf values in use, the confusion matrix (greeting kind against
AMDSTATUS), the accuracy (a person's HUMAN and a machine's MACHINE are right; NOTSURE,
HANGUP or no verdict are wrong), how many calls AMD routed right (NOTSURE goes to the
agent like HUMAN), and the time from the answer (Newstate Up, seen on this AMI login) to
the verdict, p50 and p99, in all and per kind. The misclassified greetings are listed with
their AMDCAUSE. Target: at least 95% right.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.support import AmiSettings, header, start_sandbox  # noqa: E402

CORPUS = REPO / "tests" / "sandbox" / "greetings.txt"
AMD_CONF = REPO / "asterisk-config" / "amd.conf"
KIND_DIGIT = {"person": "0", "machine": "1"}  # +12025551KNN, tests/sandbox/README.md
EXPECTED = {"person": "HUMAN", "machine": "MACHINE"}
STATUSES = ("HUMAN", "MACHINE", "NOTSURE", "HANGUP", "none")
VERDICT_TIMEOUT_S = 20


@dataclass(frozen=True)
class Greeting:
    kind: str
    id: str
    voice: str
    text: str

    @property
    def number(self) -> str:
        return f"+12025551{KIND_DIGIT[self.kind]}{self.id}"


@dataclass
class Call:
    greeting: Greeting
    uniqueid: str
    answered: float | None = None
    verdict_at: float | None = None
    status: str = "none"
    cause: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seconds(self) -> float | None:
        if self.answered is None or self.verdict_at is None:
            return None
        return self.verdict_at - self.answered


def load_corpus(path: Path = CORPUS) -> list[Greeting]:
    greetings = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, gid, voice, _wpm, _pitch, _lead, _noise, _beep, text = line.split(None, 8)
        greetings.append(Greeting(kind, gid, voice, text))
    return greetings


def amd_conf_values(path: Path = AMD_CONF) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([a-z_]+)\s*=\s*([^;\s]+)", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


class Ami:
    """Stdlib asyncio: logs in, sends Originates, follows Newstate, Hangup, UserEvent."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.calls: dict[str, Call] = {}

    async def connect(self) -> None:
        s = self.settings
        self.reader, self.writer = await asyncio.open_connection(s.host, s.port)
        await self.reader.readline()
        self.login: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self.read())
        self.send(Action="Login", ActionID="login", Username=s.username, Secret=s.secret)
        reply = await asyncio.wait_for(self.login, 5)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"login refused: {reply}")

    def send(self, **headers: object) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(text.encode())

    async def read(self) -> None:
        while True:
            try:
                block = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            now = time.monotonic()
            m: dict[str, str] = {}
            for line in block.decode(errors="replace").split("\r\n"):
                name, sep, value = line.partition(":")
                if sep:
                    m.setdefault(name, value.strip())
            if m.get("ActionID") == "login" and "Event" not in m and not self.login.done():
                self.login.set_result(m)
                continue
            call = self.calls.get(m.get("Uniqueid", ""))
            if call is None:
                continue
            event = m.get("Event")
            if event == "Newstate" and m.get("ChannelState") == "6" and call.answered is None:
                call.answered = now
            elif event == "UserEvent" and m.get("UserEvent") == "GatewayAMD":
                call.verdict_at = now
                # AMDSTATUS as the dialplan writes it now, AMDStatus as it did before
                call.status = header(m, "AMDSTATUS") or "none"
                call.cause = header(m, "AMDCAUSE") or ""
            elif event == "Hangup":
                call.done.set()

    async def dial(self, greeting: Greeting, round_no: int) -> Call:
        uid = f"amd-bench-{uuid.uuid4().hex[:8]}-{greeting.kind}-{greeting.id}-{round_no}"
        call = self.calls[uid] = Call(greeting, uid)
        self.send(
            Action="Originate",
            ActionID=uid,
            ChannelId=uid,
            Channel=f"PJSIP/{greeting.number}@carrier",
            Context="gateway-amd",
            Exten="s",
            Priority=1,
            Timeout=10000,
            CallerID="+15551230000",
            Variable=f"ATTEMPT_ID={uid}",
            Async="true",
        )
        try:
            await asyncio.wait_for(call.done.wait(), VERDICT_TIMEOUT_S)
        except TimeoutError:
            self.send(Action="Hangup", Channel=f"PJSIP/carrier-{uid}")  # best effort
        return call


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(calls: list[Call], conf: dict[str, str]) -> bool:
    print("amd.conf: " + ", ".join(f"{k}={v}" for k, v in conf.items()))
    print()
    print(f"{'greeting':<10}" + "".join(f"{s:>9}" for s in STATUSES))
    for kind in EXPECTED:
        row = [c for c in calls if c.greeting.kind == kind]
        print(f"{kind:<10}" + "".join(f"{sum(c.status == s for c in row):>9}" for s in STATUSES))
    right = [c for c in calls if c.status == EXPECTED[c.greeting.kind]]
    routed = [
        c
        for c in calls
        if (c.greeting.kind == "person" and c.status in ("HUMAN", "NOTSURE"))
        or (c.greeting.kind == "machine" and c.status == "MACHINE")
    ]
    accuracy = len(right) / len(calls)
    print()
    print(f"accuracy: {len(right)}/{len(calls)} = {accuracy:.1%} (target 95%)")
    print(f"routed right (NOTSURE to the agent as a person): {len(routed)}/{len(calls)}")
    for label, subset in [("all", calls)] + [
        (kind, [c for c in calls if c.greeting.kind == kind]) for kind in EXPECTED
    ]:
        times = [c.seconds for c in subset if c.seconds is not None]
        if times:
            print(
                f"time from answer to verdict, {label:<8} p50 {percentile(times, 0.5):.2f} s"
                f"  p99 {percentile(times, 0.99):.2f} s  max {max(times):.2f} s"
                f"  (n={len(times)}, mean {statistics.fmean(times):.2f} s)"
            )
    wrong = [c for c in calls if c not in right]
    if wrong:
        print()
        print("wrong:")
        for c in wrong:
            g = c.greeting
            name = f"{g.kind}-{g.id}"
            print(f"  {name} {g.number} {g.voice:<18} {c.status:<8} {c.cause:<24} {g.text}")
    return accuracy >= 0.95


async def bench(args: argparse.Namespace, settings: AmiSettings) -> int:
    corpus = load_corpus()
    ami = Ami(settings)
    await ami.connect()
    gate = asyncio.Semaphore(args.concurrency)

    async def one(greeting: Greeting, round_no: int) -> Call:
        async with gate:
            return await ami.dial(greeting, round_no)

    started = time.monotonic()
    jobs = [one(g, r) for r in range(args.rounds) for g in corpus]
    calls = await asyncio.gather(*jobs)
    elapsed = time.monotonic() - started
    kinds = {k: sum(g.kind == k for g in corpus) for k in EXPECTED}
    print(
        f"corpus: {len(corpus)} greetings ({kinds['person']} person, {kinds['machine']} machine)"
        f" x {args.rounds} round(s), {args.concurrency} at once, {elapsed:.1f} s"
    )
    ok = report(list(calls), amd_conf_values())
    ami.writer.close()
    return 0 if ok else 1


def sandbox_env(text: str) -> dict[str, str]:
    """`scripts/sandbox env`'s NAME=value lines; its comments (`#`, e.g. the TOML of both
    nodes) and blank lines are skipped."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def ami_settings(args: argparse.Namespace) -> AmiSettings:
    if args.ami_port:
        # Another Asterisk with the sandbox's configuration (e.g. one being tuned): its
        # login is the sandbox's, the sandbox itself is neither started nor used.
        shown = subprocess.run(
            [str(REPO / "scripts" / "sandbox"), "env"], capture_output=True, text=True
        )
        env = sandbox_env(shown.stdout)
        return AmiSettings(
            env["GATEWAY_AMI_HOST"],
            args.ami_port,
            env["GATEWAY_AMI_USERNAME"],
            env["GATEWAY_AMI_SECRET"],
        )
    else:
        return start_sandbox()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="times each greeting is dialled")
    parser.add_argument("--concurrency", type=int, default=8, help="calls at once")
    parser.add_argument("--ami-port", type=int, default=0, help="another Asterisk's AMI port")
    args = parser.parse_args()
    return asyncio.run(bench(args, ami_settings(args)))


if __name__ == "__main__":
    sys.exit(main())
