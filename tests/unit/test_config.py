from pathlib import Path

import pytest

from gateway.config import ConfigError, load

TOML = """
[http]
port = 9000
host = "0.0.0.0"
[ami]
secret = "from-file"
[campaigns]
default_agent = "ivr"
[[agents]]
id = "ivr"
context = "campaign"
[[phone_numbers]]
id = "main"
caller_id = "+15551230000"
dial_string = "PJSIP/{number}@carrier"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_defaults_then_file_then_environment(tmp_path: Path) -> None:
    assert load(environ={}).http_port == 8080
    path = write(tmp_path, TOML)
    from_file = load(path, environ={})
    assert (from_file.http_port, from_file.http_host, from_file.ami_secret) == (
        9000,
        "0.0.0.0",
        "from-file",
    )
    env = {
        "GATEWAY_CONFIG": str(path),
        "GATEWAY_HTTP_PORT": "9100",
        "GATEWAY_AMI_SECRET": "from-env",
        "GATEWAY_DB_PATH": "/tmp/x.db",
        "GATEWAY_AMI_HOST": "10.0.0.1",
        "GATEWAY_AMI_PORT": "5039",
        "GATEWAY_AMI_USERNAME": "dialer",
        "GATEWAY_HTTP_HOST": "::1",
    }
    config = load(environ=env)
    assert config.http_port == 9100 and config.ami_secret == "from-env"
    assert config.db_path == "/tmp/x.db"
    assert (config.ami_host, config.ami_port, config.ami_username) == ("10.0.0.1", 5039, "dialer")
    assert config.http_host == "::1"
    assert config.agent("ivr").context == "campaign"
    assert config.phone_number("main").dial_string == "PJSIP/{number}@carrier"


def test_secret_never_in_repr(tmp_path: Path) -> None:
    config = load(write(tmp_path, TOML), environ={})
    assert "from-file" not in repr(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[http]\nprot = 1\n", "unknown setting"),
        ("[http]\nport = 'x'\n", "expected a number"),
        ("[campaigns]\ndefault_agent = 'nope'\n", "not a configured agent"),
        ("[[phone_numbers]]\nid='a'\ncaller_id='1'\ndial_string='PJSIP/x'\n", "{number}"),
        ("[[agents]]\nid='a'\ncontext='bad context'\n", "unsafe dialplan"),
        ("[contacts]\ndefault_country = 'XX'\n", "region"),
        ("not toml [", "gateway.toml"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load(write(tmp_path, text), environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml", environ={})


def test_max_streams_per_tenant_from_file_and_environment(tmp_path: Path) -> None:
    assert load(environ={}).max_streams_per_tenant == 100
    path = write(tmp_path, "[http]\nmax_streams_per_tenant = 7\n")
    assert load(path, environ={}).max_streams_per_tenant == 7
    env = {"GATEWAY_MAX_STREAMS_PER_TENANT": "1000"}
    assert load(path, environ=env).max_streams_per_tenant == 1000
    with pytest.raises(ConfigError, match="max_streams_per_tenant"):
        load(environ={"GATEWAY_MAX_STREAMS_PER_TENANT": "0"})


def test_allow_premium_from_file_and_environment(tmp_path: Path) -> None:
    assert load(environ={}).allow_premium is False
    path = write(tmp_path, "[contacts]\nallow_premium = true\n")
    assert load(path, environ={}).allow_premium is True
    assert load(path, environ={"GATEWAY_ALLOW_PREMIUM": "false"}).allow_premium is False
    assert load(environ={"GATEWAY_ALLOW_PREMIUM": "1"}).allow_premium is True
    with pytest.raises(ConfigError, match="allow_premium: expected true or false"):
        load(environ={"GATEWAY_ALLOW_PREMIUM": "maybe"})
    with pytest.raises(ConfigError, match="allow_premium: expected true or false"):
        load(write(tmp_path, "[contacts]\nallow_premium = 2\n"), environ={})


def test_calling_hours_default_file_environment_and_off(tmp_path: Path) -> None:
    default = load(environ={})
    assert default.calling_hours == "08:00-21:00"
    assert default.calling_window.intervals == ((8 * 60, 21 * 60),)
    path = write(tmp_path, '[compliance]\ncalling_hours = "09:00-20:30"\n')
    assert load(path, environ={}).calling_window.intervals == ((9 * 60, 20 * 60 + 30),)
    env = {"GATEWAY_CALLING_HOURS": "10:00-18:00"}
    assert load(path, environ=env).calling_window.intervals == ((10 * 60, 18 * 60),)
    off = load(path, environ={"GATEWAY_CALLING_HOURS": ""})
    assert off.calling_window.always
    assert load(
        write(tmp_path, '[compliance]\ncalling_hours = ""\n'), environ={}
    ).calling_window.always


@pytest.mark.parametrize(
    "hours", ["8-21", "08:00-08:00", "25:00-26:00", "08:00-21:00,22:00", "always"]
)
def test_bad_calling_hours_are_a_clear_error(tmp_path: Path, hours: str) -> None:
    with pytest.raises(ConfigError, match="calling_hours"):
        load(environ={"GATEWAY_CALLING_HOURS": hours})
    with pytest.raises(ConfigError, match="calling_hours"):
        load(write(tmp_path, f"[compliance]\ncalling_hours = {hours!r}\n"), environ={})
