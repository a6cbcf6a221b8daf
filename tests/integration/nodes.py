"""The sandbox's Asterisk nodes, for the pool of issue 11: every node's settings as
`scripts/sandbox env` prints them, node b's life (kill it, bring it back), the far end's
own record of the INVITEs it received, and the `[[asterisk_nodes]]` configuration of
test daemons (GatewayOptions.nodes in tests/integration/support.py).

Standard library only, and no gateway code: what these report is the sandbox's side.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "sandbox"
RUN = Path(os.environ.get("GATEWAY_SANDBOX_RUN", "/tmp/gateway-sandbox"))
INVITES = RUN / "far-end-invites.log"  # written by SIPp, tests/sandbox/far-end.xml
NODE_IDS = ("a", "b")
# Which node sent an INVITE, by the sent-by port of its Via (each node's pjsip transport).
SIP_PORTS = {"a": 5060, "b": 5062}
AMI_PORTS = {"a": 5038, "b": 5039}
CONF_FILES = {"a": "/opt/astconf/asterisk.conf", "b": "/opt/astconf-b/asterisk.conf"}
PID_FILES = {"a": RUN / "asterisk.pid", "b": RUN / "asterisk-b.pid"}


class SandboxMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class AmiSettings:
    host: str
    port: int
    username: str
    secret: str


# ---------------------------------------------------------------------------------------
# The nodes' settings


def run_sandbox(*args: str, timeout: float = 600) -> str:
    """`scripts/sandbox ARGS`: its standard output, or SandboxMissing with its stderr."""
    command = ["scripts/sandbox", *args]
    try:
        done = subprocess.run(
            [str(SANDBOX), *args], capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxMissing(f"{' '.join(command)}: {exc}") from exc
    if done.returncode != 0:
        raise SandboxMissing(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done.stdout


def parse_env(text: str) -> dict[str, AmiSettings]:
    """Every node's AmiSettings from `scripts/sandbox env` (or start): node a from the four
    one-node lines, each node from its commented [[asterisk_nodes]] table (the comments,
    their "# " taken away, are TOML), each secret from GATEWAY_AMI_SECRET_<ID>.
    SandboxMissing when a part is missing or they disagree."""
    values: dict[str, str] = {}
    tables: list[str] = []  # the commented lines, as the operator pastes them
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if line.startswith("# "):
            tables.append(line[2:])
        elif sep and name.startswith("GATEWAY_AMI_"):
            values[name] = value
    try:
        nodes = {
            "a": AmiSettings(
                values["GATEWAY_AMI_HOST"],
                int(values["GATEWAY_AMI_PORT"]),
                values["GATEWAY_AMI_USERNAME"],
                values["GATEWAY_AMI_SECRET"],
            )
        }
        for table in tomllib.loads("\n".join(tables)).get("asterisk_nodes", []):
            node_id = table["id"]
            settings = AmiSettings(
                table["host"],
                table["port"],
                table["username"],
                values[f"GATEWAY_AMI_SECRET_{node_id.upper()}"],
            )
            if nodes.setdefault(node_id, settings) != settings:
                raise ValueError(f"node {node_id}: {settings} but {nodes[node_id]}")
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise SandboxMissing(f"scripts/sandbox printed no usable {exc}: {text!r}") from None
    if set(nodes) != set(NODE_IDS):
        raise SandboxMissing(f"scripts/sandbox printed nodes {sorted(nodes)}: {text!r}")
    return nodes


def start_nodes(timeout: float = 600) -> dict[str, AmiSettings]:
    """`scripts/sandbox start --nodes 2` (idempotent: starts whichever of node a, node b
    and SIPp does not run) and both nodes' settings, by id."""
    return parse_env(run_sandbox("start", "--nodes", "2", timeout=timeout))


def node_pid(node: str) -> int | None:
    """The pid of that node's Asterisk (its pid file), while it runs that node's
    configuration; None when it does not run."""
    try:
        pid = int(PID_FILES[node].read_text())
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError):
        return None
    if state == "Z" or CONF_FILES[node].encode() not in args:
        return None
    return pid


def ami_login(settings: AmiSettings, timeout: float = 5) -> str:
    """Logs in once (and off): "" when AMI accepted the login, else what went wrong."""
    try:
        with socket.create_connection((settings.host, settings.port), timeout) as conn:
            conn.settimeout(timeout)
            stream = conn.makefile("rwb")
            greeting = stream.readline()
            if not greeting.startswith(b"Asterisk Call Manager/"):
                return f"not an AMI greeting: {greeting!r}"
            stream.write(
                f"Action: Login\r\nUsername: {settings.username}\r\n"
                f"Secret: {settings.secret}\r\n\r\n".encode()
            )
            stream.flush()
            reply = b""
            while (line := stream.readline()) not in (b"\r\n", b""):
                reply += line
            stream.write(b"Action: Logoff\r\n\r\n")
            stream.flush()
    except OSError as exc:
        return f"no AMI on {settings.host}:{settings.port}: {exc!r}"
    return "" if b"Response: Success" in reply else f"login refused: {reply!r}"


def wait_ami(settings: AmiSettings, timeout: float = 30) -> None:
    """Until that AMI accepts a login; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while problem := ami_login(settings):
        if time.monotonic() > deadline:
            raise AssertionError(f"AMI {settings.port} not within {timeout}s: {problem}")
        time.sleep(0.1)


def kill_node_b(timeout: float = 10) -> int:
    """SIGKILL node b's Asterisk (by its pid file: never another process) and wait until
    it is gone and its AMI port refuses connections. Returns the pid it had."""
    pid = node_pid("b")
    assert pid is not None, f"node b's Asterisk does not run ({PID_FILES['b']})"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while node_pid("b") == pid or _listening(AMI_PORTS["b"]):
        if time.monotonic() > deadline:
            raise AssertionError(f"node b (pid {pid}) still there {timeout}s after SIGKILL")
        time.sleep(0.05)
    return pid


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def start_node_b(timeout: float = 60) -> AmiSettings:
    """`scripts/sandbox start --nodes 2`, then wait until node b's AMI takes a login."""
    settings = start_nodes(timeout)["b"]
    wait_ami(settings, timeout)
    return settings


# ---------------------------------------------------------------------------------------
# The far end's record of INVITEs


@dataclass(frozen=True)
class Invite:
    """One INVITE as the far end (SIPp) received it."""

    time: float  # unix time at SIPp
    number: str  # the Request-URI's user part: the dialled number
    via_port: int  # the Via sent-by port: which Asterisk sent it
    node: str | None  # "a" or "b" by that port, None for any other sender
    call_id: str


def parse_invite(line: str) -> Invite:
    """One line of far-end-invites.log: `DATE<TAB>TIME<TAB>UNIXTIME NUMBER PORT CALL-ID`
    (SIPp's [timestamp], then the far end's captures; tests/sandbox/README.md)."""
    fields = line.split()
    if len(fields) != 6:
        raise ValueError(f"not a far-end INVITE record line: {line!r}")
    _date, _clock, unix, number, port, call_id = fields
    nodes = {p: n for n, p in SIP_PORTS.items()}
    return Invite(float(unix), number, int(port), nodes.get(int(port)), call_id)


class FarEndRecord:
    """far-end-invites.log, read while SIPp writes it: `mark()` now, `since(mark)` the
    INVITEs after it (default: after `origin`, e.g. `FarEndRecord.from_now()`'s). A record
    shorter than the mark is a new SIPp's (restarted sandbox): read from its start."""

    def __init__(self, path: Path = INVITES, origin: int = 0) -> None:
        self.path = path
        self.origin = origin

    @classmethod
    def from_now(cls, path: Path = INVITES) -> FarEndRecord:
        record = cls(path)
        record.origin = record.mark()
        return record

    def _complete(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return b""
        return data[: data.rfind(b"\n") + 1]  # a line being written is not there yet

    def mark(self) -> int:
        return len(self._complete())

    def since(self, mark: int | None = None) -> list[Invite]:
        start = self.origin if mark is None else mark
        data = self._complete()
        if len(data) < start:
            start = 0
        return [parse_invite(line) for line in data[start:].decode().splitlines() if line]

    def wait_for(
        self,
        predicate: Callable[[list[Invite]], bool],
        timeout: float,
        mark: int | None = None,
        what: str = "the INVITEs expected",
    ) -> list[Invite]:
        """Polls since(mark) until predicate(invites); AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while not predicate(invites := self.since(mark)):
            if time.monotonic() > deadline:
                raise AssertionError(f"far end: not within {timeout}s: {what}; saw {invites[-10:]}")
            time.sleep(0.05)
        return invites

    def wait_numbers(
        self, numbers: Iterable[str], timeout: float, mark: int | None = None
    ) -> list[Invite]:
        """Until every one of `numbers` has reached the far end (since the mark); returns
        every INVITE since the mark."""
        wanted = set(numbers)
        return self.wait_for(
            lambda invites: wanted <= {i.number for i in invites},
            timeout,
            mark,
            f"INVITEs for {sorted(wanted)}",
        )

    def of(self, number: str, mark: int | None = None) -> list[Invite]:
        return [i for i in self.since(mark) if i.number == number]


def far_end_invites(mark: int = 0) -> list[Invite]:
    """The INVITEs the far end received since `mark` (FarEndRecord().mark()), oldest
    first; since SIPp started with the default."""
    return FarEndRecord().since(mark)


def dialled_twice(invites: Iterable[Invite]) -> dict[str, list[Invite]]:
    """The numbers that reached the far end more than once, with their INVITEs."""
    by_number: dict[str, list[Invite]] = {}
    for invite in invites:
        by_number.setdefault(invite.number, []).append(invite)
    return {n: found for n, found in by_number.items() if len(found) > 1}


# ---------------------------------------------------------------------------------------
# [[asterisk_nodes]] for a test daemon


@dataclass(frozen=True)
class NodeOption:
    """One `[[asterisk_nodes]]` table of a test daemon's configuration."""

    id: str
    ami: AmiSettings
    max_concurrent_calls: int = 200
    max_calls_per_second: float = 100.0
    weight: float | None = None  # None: not written (the gateway's default)
    ami_port: int | None = None  # e.g. an AmiProxy's in front of this node
    secret_in_env: bool = False  # GATEWAY_AMI_SECRET_<ID> instead of `secret` in the file

    def __post_init__(self) -> None:
        assert re.fullmatch(r"[A-Za-z0-9_]+", self.id), f"node id {self.id!r}"

    @property
    def port(self) -> int:
        return self.ami_port or self.ami.port

    @property
    def env_name(self) -> str:
        return f"GATEWAY_AMI_SECRET_{self.id.upper()}"


def toml_table(header: str, values: Mapping[str, Any]) -> str:
    """`[header]` (or `[[header]]`) and its keys; JSON spells TOML's strings, numbers,
    booleans and lists alike."""
    return f"{header}\n" + "".join(
        f"{k} = {json.dumps(list(v) if isinstance(v, tuple) else v)}\n" for k, v in values.items()
    )


def nodes_toml(
    nodes: Iterable[NodeOption], ami: Mapping[str, Any], dialer: Mapping[str, Any]
) -> str:
    """The `[[asterisk_nodes]]` tables, then [ami] and [dialer] with only what a pool
    allows there (ping_interval, ping_timeout, node_lost_after_seconds, ...)."""
    assert not {"host", "port", "username", "secret"} & set(ami), f"[ami] with nodes: {ami}"
    assert not {"max_concurrent_calls", "max_calls_per_second"} & set(dialer), dialer
    text = ""
    for node in nodes:
        table: dict[str, Any] = {
            "id": node.id,
            "host": node.ami.host,
            "port": node.port,
            "username": node.ami.username,
        }
        if not node.secret_in_env:
            table["secret"] = node.ami.secret
        table["max_concurrent_calls"] = node.max_concurrent_calls
        table["max_calls_per_second"] = node.max_calls_per_second
        if node.weight is not None:
            table["weight"] = node.weight
        text += toml_table("[[asterisk_nodes]]", table)
    if ami:
        text += toml_table("[ami]", ami)
    if dialer:
        text += toml_table("[dialer]", dialer)
    return text


def nodes_env(nodes: Iterable[NodeOption]) -> dict[str, str]:
    """The daemon's environment for the nodes whose secret it reads from there."""
    return {node.env_name: node.ami.secret for node in nodes if node.secret_in_env}
