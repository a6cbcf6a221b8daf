"""The operator's commands, through the real `gateway` entry point, on a real database."""

import subprocess
import sys
from pathlib import Path

import pytest


def gateway(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"GATEWAY_DB_PATH": str(tmp_path / "g.db"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_tenants_and_keys(tmp_path: Path) -> None:
    assert gateway(tmp_path, "migrate").stdout.startswith("applied: 0001_init.sql")
    done = gateway(tmp_path, "tenants", "create", "acme", "--max-concurrent-calls", "20",
                   "--max-calls-per-second", "2.5")  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = gateway(tmp_path, "tenants", "create", "acme", "--max-concurrent-calls", "1",
                    "--max-calls-per-second", "1")  # fmt: skip
    assert again.returncode == 1 and "already exists" in again.stderr
    listed = gateway(tmp_path, "tenants", "list").stdout
    assert "acme" in listed and "20" in listed and "2.5" in listed
    created = gateway(tmp_path, "keys", "create", "acme")
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("gw_") and len(key) > 30
    keys = gateway(tmp_path, "keys", "list").stdout
    assert key[:9] in keys and key not in keys
    assert gateway(tmp_path, "keys", "revoke", key[:9]).returncode == 0
    assert gateway(tmp_path, "keys", "revoke", key).returncode == 1  # already revoked
    assert gateway(tmp_path, "keys", "create", "nobody").returncode == 1


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_bad_caps_are_usage_errors(tmp_path: Path, value: str) -> None:
    result = gateway(tmp_path, "tenants", "create", "a", "--max-concurrent-calls", value,
                     "--max-calls-per-second", "1")  # fmt: skip
    assert result.returncode == 2


def test_bad_config_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nport = 'nope'\n")
    result = gateway(tmp_path, "--config", str(bad), "migrate")
    assert result.returncode == 2 and "configuration error" in result.stderr
