"""Configuration: built-in defaults, then a TOML file, then GATEWAY_* environment variables."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gateway.domain.phone import is_valid_region
from gateway.domain.settings import Choices
from gateway.domain.window import DailyWindow

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIALPLAN = re.compile(r"^[A-Za-z0-9_+*#.-]{1,80}$")
_SAFE_HEADER = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Agent:
    """Where answered calls go: a dialplan context, extension and priority."""

    id: str
    context: str
    extension: str = "s"
    priority: int = 1


@dataclass(frozen=True)
class PhoneNumber:
    """Which caller ID and trunk to call from. `dial_string` contains `{number}`."""

    id: str
    caller_id: str
    dial_string: str


def _default_db_path() -> str:
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    folder = state.split(":")[0] if state else "/var/lib/campaign-gateway"
    return str(Path(folder) / "gateway.db")


@dataclass(frozen=True)
class Config:
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    db_path: str = field(default_factory=_default_db_path)
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "gateway"
    ami_secret: str = field(default="", repr=False)
    ami_ping_interval: float = 5.0
    ami_ping_timeout: float = 3.0
    host_max_concurrent_calls: int = 200  # the Asterisk node's own ceiling
    host_max_calls_per_second: float = 100.0
    default_country: str = "US"
    default_timezone: str = "UTC"
    calling_hours: str = "08:00-21:00"  # in each contact's local time; "" turns them off
    max_upload_bytes: int = 50 * 1024 * 1024
    max_streams_per_tenant: int = 100  # open SSE streams; beyond it 429
    default_agent: str | None = None
    default_phone_number: str | None = None
    log_level: str = "info"
    log_format: str = "auto"  # auto (JSON unless on a terminal), json, console
    agents: tuple[Agent, ...] = ()
    phone_numbers: tuple[PhoneNumber, ...] = ()

    def agent(self, agent_id: str) -> Agent:
        for agent in self.agents:
            if agent.id == agent_id:
                return agent
        raise LookupError(f"agent {agent_id!r} is not in the configuration")

    def phone_number(self, number_id: str) -> PhoneNumber:
        for number in self.phone_numbers:
            if number.id == number_id:
                return number
        raise LookupError(f"phone number {number_id!r} is not in the configuration")

    @property
    def calling_window(self) -> DailyWindow:
        """The operator's calling hours, applied in each contact's local time."""
        return DailyWindow.parse(self.calling_hours)

    def choices(self) -> Choices:
        return Choices(
            agents=frozenset(a.id for a in self.agents),
            phone_numbers=frozenset(p.id for p in self.phone_numbers),
            default_agent=self.default_agent,
            default_phone_number=self.default_phone_number,
            default_timezone=self.default_timezone,
        )


# TOML section.key → Config field. Environment: GATEWAY_<FIELD upper-cased>.
_TOML_KEYS: dict[tuple[str, str], str] = {
    ("http", "host"): "http_host",
    ("http", "port"): "http_port",
    ("http", "max_streams_per_tenant"): "max_streams_per_tenant",
    ("database", "path"): "db_path",
    ("ami", "host"): "ami_host",
    ("ami", "port"): "ami_port",
    ("ami", "username"): "ami_username",
    ("ami", "secret"): "ami_secret",
    ("ami", "ping_interval"): "ami_ping_interval",
    ("ami", "ping_timeout"): "ami_ping_timeout",
    ("dialer", "max_concurrent_calls"): "host_max_concurrent_calls",
    ("dialer", "max_calls_per_second"): "host_max_calls_per_second",
    ("contacts", "default_country"): "default_country",
    ("contacts", "max_upload_bytes"): "max_upload_bytes",
    ("campaigns", "default_agent"): "default_agent",
    ("campaigns", "default_phone_number"): "default_phone_number",
    ("campaigns", "default_timezone"): "default_timezone",
    ("compliance", "calling_hours"): "calling_hours",
    ("log", "level"): "log_level",
    ("log", "format"): "log_format",
}
_ENV_NAMES: dict[str, str] = {"GATEWAY_" + name.upper(): name for name in set(_TOML_KEYS.values())}


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Config)}[name]
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name}: expected a string, got {value!r}")
    return value


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Defaults ← TOML file (`path`, else $GATEWAY_CONFIG if set) ← GATEWAY_* variables."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    agents: tuple[Agent, ...] = ()
    numbers: tuple[PhoneNumber, ...] = ()
    path = path or env.get("GATEWAY_CONFIG")
    if path:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for section, table in document.items():
            if section in ("agents", "phone_numbers"):
                continue
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: unknown top-level key {section!r}")
            for key, value in table.items():
                name = _TOML_KEYS.get((section, key))
                if name is None:
                    raise ConfigError(f"{path}: unknown setting [{section}] {key}")
                values[name] = _coerce(name, value)
        agents = tuple(_agent(a) for a in document.get("agents", []))
        numbers = tuple(_number(n) for n in document.get("phone_numbers", []))
    for env_name, name in _ENV_NAMES.items():
        if env_name in env:
            values[name] = _coerce(name, env[env_name])
    config = replace(Config(), agents=agents, phone_numbers=numbers, **values)
    check(config)
    return config


def _agent(table: dict[str, Any]) -> Agent:
    try:
        agent = Agent(
            id=str(table["id"]),
            context=str(table["context"]),
            extension=str(table.get("extension", "s")),
            priority=int(table.get("priority", 1)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"[[agents]] entry {table!r}: {exc}") from None
    for value in (agent.context, agent.extension):
        if not _DIALPLAN.match(value):
            raise ConfigError(f"agent {agent.id!r}: unsafe dialplan name {value!r}")
    return agent


def _number(table: dict[str, Any]) -> PhoneNumber:
    try:
        number = PhoneNumber(
            id=str(table["id"]),
            caller_id=str(table["caller_id"]),
            dial_string=str(table["dial_string"]),
        )
    except KeyError as exc:
        raise ConfigError(f"[[phone_numbers]] entry {table!r}: missing {exc}") from None
    if "{number}" not in number.dial_string:
        raise ConfigError(f"phone number {number.id!r}: dial_string must contain {{number}}")
    for value in (number.caller_id, number.dial_string):
        if not _SAFE_HEADER.match(value):
            raise ConfigError(f"phone number {number.id!r}: control characters in {value!r}")
    return number


def check(config: Config) -> None:
    for kind, items in (("agent", config.agents), ("phone number", config.phone_numbers)):
        ids = [i.id for i in items]
        for item_id in ids:
            if not _ID.match(item_id):
                raise ConfigError(f"{kind} id {item_id!r}: use letters, digits, _ . -")
        if len(set(ids)) != len(ids):
            raise ConfigError(f"two {kind}s share an id: {ids}")
    if config.default_agent and config.default_agent not in {a.id for a in config.agents}:
        raise ConfigError(f"default_agent {config.default_agent!r} is not a configured agent")
    if config.default_phone_number and config.default_phone_number not in {
        p.id for p in config.phone_numbers
    }:
        raise ConfigError(
            f"default_phone_number {config.default_phone_number!r} is not a configured number"
        )
    if not is_valid_region(config.default_country):
        raise ConfigError(f"default_country {config.default_country!r} is not a region code")
    if not 1 <= config.http_port <= 65535:
        raise ConfigError(f"http_port {config.http_port} is not a TCP port")
    if config.max_streams_per_tenant < 1:
        raise ConfigError("max_streams_per_tenant must be at least 1")
    if config.max_upload_bytes < 1024:
        raise ConfigError("max_upload_bytes must be at least 1024")
    try:
        DailyWindow.parse(config.calling_hours)
    except ValueError as exc:
        raise ConfigError(f'calling_hours: {exc} (e.g. "08:00-21:00", or "" for none)') from None
    if config.log_format not in ("auto", "json", "console"):
        raise ConfigError("log_format must be auto, json or console")
