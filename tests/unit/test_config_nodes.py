"""[[asterisk_nodes]]: a pool of Asterisk nodes, and the one-node [ami] + [dialer] shorthand."""

from pathlib import Path

import pytest

from gateway.config import AsteriskNode, ConfigError, load

NUMBER = """
[[phone_numbers]]
id = "main"
caller_id = "+15551230000"
dial_string = "PJSIP/{number}@carrier"
"""

POOL = """
[dialer]
node_lost_after_seconds = 60
[ami]
ping_interval = 2.0
[[asterisk_nodes]]
id = "a"
host = "10.0.0.1"
port = 5038
username = "gw"
secret = "file-secret"
max_concurrent_calls = 100
max_calls_per_second = 20
[[asterisk_nodes]]
id = "b_2"
host = "pbx-b.example"
max_concurrent_calls = 50
max_calls_per_second = 10
weight = 2.5
[[phone_numbers]]
id = "main"
caller_id = "+15551230000"
dial_string = "PJSIP/{number}@carrier"
[[phone_numbers]]
id = "only_b"
caller_id = "+15551230001"
dial_string = "PJSIP/{number}@carrier"
nodes = ["b_2"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_the_shorthand_is_one_node_named_default(tmp_path: Path) -> None:
    text = '[ami]\nhost = "10.1.1.1"\nport = 5040\nsecret = "s"\n'
    text += "[dialer]\nmax_concurrent_calls = 30\nmax_calls_per_second = 7\n" + NUMBER
    config = load(write(tmp_path, text), environ={})
    assert config.nodes == (
        AsteriskNode("default", "10.1.1.1", 5040, "gateway", "s", 30, 7.0, 1.0),
    )
    assert config.nodes_for("main") == ("default",)
    assert config.node_lost_after_seconds == 300.0  # the default
    env = {"GATEWAY_AMI_SECRET": "env", "GATEWAY_HOST_MAX_CONCURRENT_CALLS": "9"}
    node = load(write(tmp_path, text), environ=env).nodes[0]
    assert (node.secret, node.max_concurrent_calls) == ("env", 9)


def test_a_pool_of_nodes_with_secrets_from_the_environment(tmp_path: Path) -> None:
    env = {
        "GATEWAY_AMI_SECRET_B_2": "b-secret",
        "GATEWAY_AMI_SECRET_A": "a-from-env",
        # The shorthand's variables (e.g. from `scripts/sandbox env`) are ignored.
        "GATEWAY_AMI_HOST": "192.0.2.9",
        "GATEWAY_AMI_SECRET": "x",
    }
    config = load(write(tmp_path, POOL), environ=env)
    a, b = config.nodes
    assert a == AsteriskNode("a", "10.0.0.1", 5038, "gw", "a-from-env", 100, 20.0, 1.0)
    assert b == AsteriskNode("b_2", "pbx-b.example", 5038, "gateway", "b-secret", 50, 10.0, 2.5)
    assert config.nodes_for("main") == ("a", "b_2")
    assert config.nodes_for("only_b") == ("b_2",)
    assert config.node_lost_after_seconds == 60.0
    assert config.ami_ping_interval == 2.0
    assert "b-secret" not in repr(config) and "a-from-env" not in repr(config)
    assert load(write(tmp_path, POOL), environ={}).nodes[0].secret == "file-secret"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('id = "b_2"', 'id = "b-2"'), "letters, digits or _"),
        (('id = "b_2"', 'id = "A"'), "share an id"),
        (('host = "pbx-b.example"', 'host = "pbx b"'), "not a host name"),
        (("port = 5038", "port = 70000"), "not a TCP port"),
        (("port = 5038", 'port = "5038"'), "whole number"),
        (("max_concurrent_calls = 50", "max_concurrent_calls = 0"), "at least 1"),
        (("max_calls_per_second = 10", "max_calls_per_second = 0"), "above 0"),
        (("weight = 2.5", "weight = -1"), "weight"),
        (('nodes = ["b_2"]', 'nodes = ["c"]'), "not configured"),
        (('nodes = ["b_2"]', 'nodes = ["b_2", "b_2"]'), "named twice"),
        (('nodes = ["b_2"]', 'nodes = "b_2"'), "list of node ids"),
        (('username = "gw"', 'username = "gw\\r\\nAction: Originate"'), "control characters"),
        (("weight = 2.5", "wieght = 2.5"), "unknown"),
        (('username = "gw"', 'username = "gw\\n"'), "control characters"),  # a trailing LF too
        (('host = "pbx-b.example"', 'host = "pbx-b.example\\n"'), "not a host name"),
        (("[ami]\nping_interval = 2.0", '[ami]\nhost = "x"'), r"\[ami\] host belong"),
        (("node_lost_after_seconds = 60", "max_concurrent_calls = 9"), "one-node shorthand"),
        (("node_lost_after_seconds = 60", "node_lost_after_seconds = 0"), "between 1 and"),
    ],
)
def test_bad_nodes_are_a_clear_error(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in POOL
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, POOL.replace(change[0], change[1], 1)), environ={})


def test_a_number_restricted_to_the_shorthand_node(tmp_path: Path) -> None:
    text = NUMBER + 'nodes = ["default"]\n'
    assert load(write(tmp_path, text), environ={}).nodes_for("main") == ("default",)
    with pytest.raises(ConfigError, match="not configured"):
        load(write(tmp_path, NUMBER + 'nodes = ["a"]\n'), environ={})
