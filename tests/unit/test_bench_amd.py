"""bench/amd.py --ami-port reads the login from `scripts/sandbox env`, whose output has
comment lines too (the TOML of both nodes, each line starting with `#`)."""

from __future__ import annotations

from bench.amd import sandbox_env

# What scripts/sandbox's print_env writes (two nodes), secrets made up.
SHOWN = """GATEWAY_AMI_HOST=127.0.0.1
GATEWAY_AMI_PORT=5038
GATEWAY_AMI_USERNAME=gateway
GATEWAY_AMI_SECRET=s3cret=x
GATEWAY_AMI_SECRET_A=s3cret=x
GATEWAY_AMI_SECRET_B=s3cret=x
# # Both nodes (start --nodes 2) as a pool, for a gateway TOML file (secrets above):
# [[asterisk_nodes]]
# id = "a"
# host = "127.0.0.1"
# port = 5038

# [[asterisk_nodes]]
# id = "b"
"""


def test_the_sandbox_env_without_its_comments() -> None:
    env = sandbox_env(SHOWN)
    assert env == {
        "GATEWAY_AMI_HOST": "127.0.0.1",
        "GATEWAY_AMI_PORT": "5038",
        "GATEWAY_AMI_USERNAME": "gateway",
        "GATEWAY_AMI_SECRET": "s3cret=x",  # split at the first = only
        "GATEWAY_AMI_SECRET_A": "s3cret=x",
        "GATEWAY_AMI_SECRET_B": "s3cret=x",
    }
    assert sandbox_env("") == {}
