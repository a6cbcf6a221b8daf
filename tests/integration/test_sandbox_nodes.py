"""Node b of the sandbox (`scripts/sandbox start --nodes 2`): a second real Asterisk from
the same chroot, on its own ports, against the same SIPp far end, whose own record of
INVITEs tells which node sent each call (tests/sandbox/README.md). The raw AMI client of
test_sandbox.py and tests/integration/nodes.py only: no project code, except the last
test, which checks the pool configuration the test daemons get.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.nodes import (
    REPO,
    SIP_PORTS,
    AmiSettings,
    FarEndRecord,
    Invite,
    NodeOption,
    ami_login,
    kill_node_b,
    node_pid,
    parse_env,
    run_sandbox,
    start_node_b,
)
from tests.integration.support import (
    AmiWitness,
    BackgroundLoop,
    Gateway,
    GatewayOptions,
    wait_until,
)
from tests.integration.test_sandbox import CALLER_ID, Ami, is_event

pytestmark = pytest.mark.integration


def answered_number() -> str:
    """A number the far end answers (last digit 0), random: no other test dials it."""
    return f"+1415{random.randrange(10**6):06d}0"


def is_up(attempt_id: str):
    return lambda m: is_event("Newstate", attempt_id)(m) and m.get("ChannelState") == "6"


async def connect(settings: AmiSettings | None) -> Ami:
    """The raw client, logged in to that node (None: node a, as test_sandbox.py does)."""
    if settings is None:
        ami = await Ami.connect()
        await ami.login()
    else:
        ami = await Ami.connect(settings.host, settings.port)
        await ami.login(settings.username, settings.secret)
    await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", 5)
    return ami


# --------------------------------------------------------------------------------------
# What the sandbox prints


def test_env_keeps_node_a_lines_first_and_adds_both_nodes() -> None:
    text = run_sandbox("env")
    secret = text.splitlines()[3].removeprefix("GATEWAY_AMI_SECRET=")
    assert text.splitlines()[:4] == [
        "GATEWAY_AMI_HOST=127.0.0.1",
        "GATEWAY_AMI_PORT=5038",
        "GATEWAY_AMI_USERNAME=gateway",
        f"GATEWAY_AMI_SECRET={secret}",
    ]
    nodes = parse_env(text)
    assert nodes["b"] == AmiSettings("127.0.0.1", 5039, "gateway", secret)
    pasted = tomllib.loads("\n".join(x[2:] for x in text.splitlines() if x.startswith("# ")))
    assert [(n["id"], n["port"]) for n in pasted["asterisk_nodes"]] == [("a", 5038), ("b", 5039)]
    # eval-able, exporting the node settings and nothing else
    shell = 'set -euo pipefail; set -a; eval "$(scripts/sandbox env)"; set +a; env'
    done = subprocess.run(
        ["bash", "-c", shell], cwd=REPO, env={"PATH": os.environ["PATH"]},
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    exported = dict(x.partition("=")[::2] for x in done.stdout.splitlines() if "=" in x)
    assert {k: v for k, v in exported.items() if k.startswith("GATEWAY_")} == {
        "GATEWAY_AMI_HOST": "127.0.0.1",
        "GATEWAY_AMI_PORT": "5038",
        "GATEWAY_AMI_USERNAME": "gateway",
        "GATEWAY_AMI_SECRET": secret,
        "GATEWAY_AMI_SECRET_A": secret,
        "GATEWAY_AMI_SECRET_B": secret,
    }


def test_lib_sh_sandbox_start_exports_every_node_line(sandbox_b: AmiSettings) -> None:
    """scripts/test's sandbox_start 2 on a sandbox that runs both nodes: it accepts the
    pool's lines and comments, exports them, and marks nothing to stop."""
    shell = (
        "set -euo pipefail; LIB_NAME=t; source scripts/lib.sh; sandbox_start 2; "
        'echo "to-stop=$SANDBOX_STARTED$SANDBOX_STARTED_B"; env'
    )
    done = subprocess.run(
        ["bash", "-c", shell], cwd=REPO, env={"PATH": os.environ["PATH"]},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "to-stop=00" in done.stdout.splitlines()
    assert f"GATEWAY_AMI_SECRET_B={sandbox_b.secret}" in done.stdout.splitlines()


# --------------------------------------------------------------------------------------
# One answered call through each node, both at once


@dataclass
class PoolRun:
    ami: dict[str, Ami]  # node: its raw client
    ids: dict[str, str]  # node: the attempt id (ChannelId) dialled through it
    numbers: dict[str, str]  # node: the number dialled through it
    call_ids: dict[str, str]  # node: its channel's CHANNEL(pjsip,call-id) while up
    listed: dict[str, set[str]]  # node: Uniqueids of its CoreShowChannels while both up
    both_up: bool  # neither had hung up when the lists were taken
    record: list[Invite]  # the far end's record, read the moment both calls were up


async def dial_both_nodes(b: AmiSettings) -> PoolRun:
    far_end = FarEndRecord.from_now()
    ami = {"a": await connect(None), "b": await connect(b)}
    try:
        tag = uuid.uuid4().hex[:8]
        ids = {node: f"pool-{tag}-{node}" for node in ami}
        numbers = {node: answered_number() for node in ami}
        for node, client in ami.items():
            client.originate(ids[node], numbers[node])
        for node, client in ami.items():
            await client.wait_for(is_up(ids[node]))
        # No waiting: each INVITE came before its answer, so a flushed record has both.
        record = far_end.since()
        call_ids, listed = {}, {}
        for node, client in ami.items():
            channel = client.events("Newchannel", ids[node])[0]["Channel"]
            client.send(Action="Getvar", ActionID="call-id", Channel=channel,
                        Variable="CHANNEL(pjsip,call-id)")  # fmt: skip
            reply = await client.wait_for(lambda m: m.get("ActionID") == "call-id", 5)
            call_ids[node] = reply.get("Value", repr(reply))
            client.send(Action="CoreShowChannels", ActionID="channels")
            await client.wait_for(lambda m: m.get("Event") == "CoreShowChannelsComplete")
            listed[node] = {
                m["Uniqueid"]
                for _, m in client.messages
                if m.get("Event") == "CoreShowChannel" and m.get("ActionID") == "channels"
            }
        both_up = not any(client.events("Hangup", ids[n]) for n, client in ami.items())
        for node, client in ami.items():
            await client.wait_for(is_event("OriginateResponse", ids[node]), 10)
            await client.wait_for(is_event("Hangup", ids[node]), 10)
        return PoolRun(ami, ids, numbers, call_ids, listed, both_up, record)
    finally:
        for client in ami.values():
            await client.close()


@pytest.fixture(scope="module")
def pool(sandbox_b: AmiSettings) -> PoolRun:
    return asyncio.run(dial_both_nodes(sandbox_b))


def test_node_b_is_a_second_asterisk_on_its_own_ports(
    pool: PoolRun, sandbox: AmiSettings, sandbox_b: AmiSettings
) -> None:
    assert (sandbox.port, sandbox_b.port) == (5038, 5039)
    assert pool.ami["b"].greeting.startswith("Asterisk Call Manager/")
    pids = node_pid("a"), node_pid("b")
    assert None not in pids and pids[0] != pids[1], pids


def test_each_node_answered_by_the_far_end(pool: PoolRun) -> None:
    for node, client in pool.ami.items():
        [response] = client.events("OriginateResponse", pool.ids[node])
        assert (response["Response"], response["Reason"]) == ("Success", "4"), node
        [hangup] = client.events("Hangup", pool.ids[node])
        assert hangup["Cause"] == "16", node


def test_far_end_records_each_invite_with_its_node_before_the_answer(pool: PoolRun) -> None:
    for node in ("a", "b"):
        [invite] = [i for i in pool.record if i.number == pool.numbers[node]]
        assert (invite.node, invite.via_port) == (node, SIP_PORTS[node])
        assert invite.call_id == pool.call_ids[node]


def test_both_nodes_have_calls_up_at_once_each_its_own(pool: PoolRun) -> None:
    assert pool.both_up
    assert pool.ids["a"] in pool.listed["a"] and pool.ids["b"] not in pool.listed["a"]
    assert pool.ids["b"] in pool.listed["b"] and pool.ids["a"] not in pool.listed["b"]


def test_witness_b_sees_node_b_and_witness_node_a(
    witness: AmiWitness, witness_b: AmiWitness, background: BackgroundLoop
) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = {"a": f"witness-{tag}-a", "b": f"witness-{tag}-b"}
    watchers = {"a": witness, "b": witness_b}
    for node, watcher in watchers.items():
        reply = background.run(
            watcher.action("Originate", ChannelId=ids[node], Channel="PJSIP/+14155550135@carrier",
                           Context="campaign", Exten="s", Priority=1, Timeout=5000,
                           CallerID=CALLER_ID, Async="true")
        )  # fmt: skip
        assert reply.get("Response") == "Success", reply
    for node, watcher in watchers.items():
        wait_until(
            lambda w=watcher, u=ids[node]: (
                (c := w.snapshot().get(u)) is not None and c.hangup is not None
            ),
            10,
            f"node {node}'s witness sees its busy call end",
        )
    for node, other in (("a", "b"), ("b", "a")):
        seen = watchers[node].snapshot()
        assert seen[ids[node]].cause == "17" and ids[other] not in seen


# --------------------------------------------------------------------------------------
# Node b killed and brought back


async def dial_answered(settings: AmiSettings | None, number: str) -> dict[str, str]:
    """One answered call through that node (None: node a): its OriginateResponse."""
    ami = await connect(settings)
    try:
        attempt_id = f"back-{uuid.uuid4().hex[:8]}"
        ami.originate(attempt_id, number)
        response = await ami.wait_for(is_event("OriginateResponse", attempt_id), 15)
        await ami.wait_for(is_event("Hangup", attempt_id), 10)
        return response
    finally:
        await ami.close()


def test_killing_node_b_leaves_node_a_dialling_and_start_brings_b_back(
    sandbox_b: AmiSettings, far_end: FarEndRecord
) -> None:
    killed = kill_node_b()
    try:
        assert node_pid("b") is None
        assert ami_login(sandbox_b, timeout=2) != "", "node b's AMI still answers"
        number_a = answered_number()
        assert asyncio.run(dial_answered(None, number_a))["Reason"] == "4"
        far_end.wait_numbers([number_a], 5)
        assert [i.node for i in far_end.of(number_a)] == ["a"]
    finally:
        restarted = start_node_b()  # whatever happened: later tests need node b
    assert restarted == sandbox_b
    assert node_pid("b") not in (None, killed)
    number_b = answered_number()
    assert asyncio.run(dial_answered(sandbox_b, number_b))["Reason"] == "4"
    assert [i.node for i in far_end.of(number_b)] == ["b"]


# --------------------------------------------------------------------------------------
# The pool configuration of test daemons (GatewayOptions.nodes)


def test_a_pool_daemon_gets_asterisk_nodes_instead_of_ami(
    sandbox: AmiSettings, sandbox_b: AmiSettings, tmp_path: Path
) -> None:
    options = GatewayOptions(
        nodes=(
            NodeOption("a", sandbox, max_concurrent_calls=20, max_calls_per_second=10),
            NodeOption("b", sandbox_b, 30, 5.0, weight=2.0, secret_in_env=True),
        ),
        extra_numbers=("only_b",),
        number_nodes={"only_b": ("b",)},
        ami={"ping_interval": 1.0},
        dialer={"node_lost_after_seconds": 5},
    )
    server = Gateway(tmp_path / "pool", sandbox, options)
    config = tomllib.loads(server.daemon.config.read_text())
    assert config["asterisk_nodes"] == [
        {"id": "a", "host": "127.0.0.1", "port": 5038, "username": "gateway",
         "secret": sandbox.secret, "max_concurrent_calls": 20, "max_calls_per_second": 10},
        {"id": "b", "host": "127.0.0.1", "port": 5039, "username": "gateway",
         "max_concurrent_calls": 30, "max_calls_per_second": 5.0, "weight": 2.0},
    ]  # fmt: skip
    assert config["ami"] == {"ping_interval": 1.0}
    assert config["dialer"] == {"node_lost_after_seconds": 5}
    assert [n.get("nodes") for n in config["phone_numbers"]] == [None, ["b"]]
    env = server.environment()
    assert env["GATEWAY_AMI_SECRET_B"] == sandbox_b.secret and "GATEWAY_AMI_PORT" not in env
    one = tomllib.loads(
        Gateway(tmp_path / "one", sandbox, GatewayOptions()).daemon.config.read_text()
    )
    assert "asterisk_nodes" not in one and one["ami"]["port"] == sandbox.port
    assert set(one["dialer"]) == {"max_concurrent_calls", "max_calls_per_second"}
