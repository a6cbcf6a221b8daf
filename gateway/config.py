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
_NODE_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")  # GATEWAY_AMI_SECRET_<ID> must be a name
_HOST = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")
SHORTHAND_NODE = "default"  # the node of the one-node [ami] + [dialer] shorthand


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
    """Which caller ID and trunk to call from. `dial_string` contains `{number}`. `nodes`:
    the Asterisk nodes that carry its trunk (empty: all of them)."""

    id: str
    caller_id: str
    dial_string: str
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AsteriskNode:
    """One Asterisk the gateway dials through, with its own AMI login and its own caps."""

    id: str
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "gateway"
    secret: str = field(default="", repr=False)
    max_concurrent_calls: int = 200
    max_calls_per_second: float = 100.0
    weight: float = 1.0


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
    allow_premium: bool = False  # numbers that cost more (phone.COSTLY) in uploads, else 400
    default_timezone: str = "UTC"
    calling_hours: str = "08:00-21:00"  # in each contact's local time; "" turns them off
    max_upload_bytes: int = 50 * 1024 * 1024
    max_streams_per_tenant: int = 100  # open SSE streams; beyond it 429
    max_uploads_per_tenant: int = 4  # CSV uploads in progress at once; beyond it 429
    default_agent: str | None = None
    default_phone_number: str | None = None
    log_level: str = "info"
    log_format: str = "auto"  # auto (JSON unless on a terminal), json, console
    node_lost_after_seconds: float = 300.0  # a node gone this long: its calls are lost
    agents: tuple[Agent, ...] = ()
    phone_numbers: tuple[PhoneNumber, ...] = ()
    asterisk_nodes: tuple[AsteriskNode, ...] = ()  # empty: the [ami] + [dialer] shorthand

    @property
    def nodes(self) -> tuple[AsteriskNode, ...]:
        """The Asterisk nodes to dial through: the [[asterisk_nodes]], else one node
        `default` made of [ami] and the [dialer] limits."""
        if self.asterisk_nodes:
            return self.asterisk_nodes
        return (
            AsteriskNode(
                id=SHORTHAND_NODE,
                host=self.ami_host,
                port=self.ami_port,
                username=self.ami_username,
                secret=self.ami_secret,
                max_concurrent_calls=self.host_max_concurrent_calls,
                max_calls_per_second=self.host_max_calls_per_second,
            ),
        )

    def nodes_for(self, number_id: str) -> tuple[str, ...]:
        """The ids of the nodes that carry a phone number's trunk."""
        number = self.phone_number(number_id)
        return number.nodes or tuple(node.id for node in self.nodes)

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
    ("http", "max_uploads_per_tenant"): "max_uploads_per_tenant",
    ("database", "path"): "db_path",
    ("ami", "host"): "ami_host",
    ("ami", "port"): "ami_port",
    ("ami", "username"): "ami_username",
    ("ami", "secret"): "ami_secret",
    ("ami", "ping_interval"): "ami_ping_interval",
    ("ami", "ping_timeout"): "ami_ping_timeout",
    ("dialer", "max_concurrent_calls"): "host_max_concurrent_calls",
    ("dialer", "max_calls_per_second"): "host_max_calls_per_second",
    ("dialer", "node_lost_after_seconds"): "node_lost_after_seconds",
    ("contacts", "default_country"): "default_country",
    ("contacts", "max_upload_bytes"): "max_upload_bytes",
    ("contacts", "allow_premium"): "allow_premium",
    ("campaigns", "default_agent"): "default_agent",
    ("campaigns", "default_phone_number"): "default_phone_number",
    ("campaigns", "default_timezone"): "default_timezone",
    ("compliance", "calling_hours"): "calling_hours",
    ("log", "level"): "log_level",
    ("log", "format"): "log_format",
}
_ENV_NAMES: dict[str, str] = {"GATEWAY_" + name.upper(): name for name in set(_TOML_KEYS.values())}


# The one-node shorthand's settings: with [[asterisk_nodes]] each node has its own, and
# these may not be set in the file (their GATEWAY_* variables are ignored then).
_SHORTHAND = ("ami_host", "ami_port", "ami_username", "ami_secret",
              "host_max_concurrent_calls", "host_max_calls_per_second")  # fmt: skip
_NODE_KEYS = {"id", "host", "port", "username", "secret", "max_concurrent_calls",
              "max_calls_per_second", "weight"}  # fmt: skip

_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Config)}[name]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
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
    nodes: tuple[AsteriskNode, ...] = ()
    path = path or env.get("GATEWAY_CONFIG")
    if path:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for section, table in document.items():
            if section in ("agents", "phone_numbers", "asterisk_nodes"):
                continue
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: unknown top-level key {section!r}")
            for key, value in table.items():
                name = _TOML_KEYS.get((section, key))
                if name is None:
                    raise ConfigError(f"{path}: unknown setting [{section}] {key}")
                values[name] = _coerce(name, value)
        agents = tuple(_agent(a) for a in document.get("agents", []))
        numbers = tuple(_number(n) for n in _tables(document, "phone_numbers"))
        nodes = tuple(_node(n, env) for n in _tables(document, "asterisk_nodes"))
        if nodes:
            both = sorted(k for k, name in _TOML_KEYS.items() if name in _SHORTHAND and
                          name in values)  # fmt: skip
            if both:
                named = ", ".join(f"[{section}] {key}" for section, key in both)
                raise ConfigError(
                    f"{path}: {named} belong to the one-node shorthand; with "
                    "[[asterisk_nodes]] each node has its own host, port, username, secret, "
                    "max_concurrent_calls and max_calls_per_second"
                )
    for env_name, name in _ENV_NAMES.items():
        if env_name in env and not (nodes and name in _SHORTHAND):
            values[name] = _coerce(name, env[env_name])
    config = replace(Config(), agents=agents, phone_numbers=numbers, asterisk_nodes=nodes, **values)
    check(config)
    return config


def _tables(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    tables = document.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{name} must be an array of tables: [[{name}]]")
    return tables


def _node(table: dict[str, Any], env: Mapping[str, str]) -> AsteriskNode:
    unknown = sorted(set(table) - _NODE_KEYS)
    if unknown:
        raise ConfigError(f"[[asterisk_nodes]] entry {table.get('id')!r}: unknown {unknown}")
    if "id" not in table or not isinstance(table["id"], str) or not _NODE_ID.fullmatch(table["id"]):
        raise ConfigError(
            f"[[asterisk_nodes]] entry {table.get('id')!r}: an id of 1-32 letters, digits or _"
            " is needed (its secret is read from GATEWAY_AMI_SECRET_<ID>)"
        )
    node_id = table["id"]
    try:
        node = AsteriskNode(
            id=node_id,
            host=_text(table.get("host", "127.0.0.1")),
            port=_whole(table.get("port", 5038)),
            username=_text(table.get("username", "gateway")),
            secret=env.get(secret_variable(node_id), _text(table.get("secret", ""))),
            max_concurrent_calls=_whole(table.get("max_concurrent_calls", 200)),
            max_calls_per_second=float(table.get("max_calls_per_second", 100.0)),
            weight=float(table.get("weight", 1.0)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"asterisk node {node_id!r}: {exc}") from None
    if not _HOST.fullmatch(node.host):
        raise ConfigError(f"asterisk node {node_id!r}: host {node.host!r} is not a host name")
    if not 1 <= node.port <= 65535:
        raise ConfigError(f"asterisk node {node_id!r}: port {node.port} is not a TCP port")
    for what, value in (("username", node.username), ("secret", node.secret or "x")):
        if not _SAFE_HEADER.fullmatch(value):  # both are written into the AMI Login action
            raise ConfigError(f"asterisk node {node_id!r}: control characters in its {what}")
    if node.max_concurrent_calls < 1:
        raise ConfigError(f"asterisk node {node_id!r}: max_concurrent_calls must be at least 1")
    if not 0 < node.max_calls_per_second <= 10_000:
        raise ConfigError(f"asterisk node {node_id!r}: max_calls_per_second must be above 0")
    if not 0 < node.weight <= 1000:
        raise ConfigError(f"asterisk node {node_id!r}: weight must be above 0")
    return node


def secret_variable(node_id: str) -> str:
    """The environment variable holding a node's AMI secret."""
    return f"GATEWAY_AMI_SECRET_{node_id.upper()}"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


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
        if not _DIALPLAN.fullmatch(value):
            raise ConfigError(f"agent {agent.id!r}: unsafe dialplan name {value!r}")
    return agent


def _number(table: dict[str, Any]) -> PhoneNumber:
    nodes = table.get("nodes", [])
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise ConfigError(f"phone number {table.get('id')!r}: nodes must be a list of node ids")
    try:
        number = PhoneNumber(
            id=str(table["id"]),
            caller_id=str(table["caller_id"]),
            dial_string=str(table["dial_string"]),
            nodes=tuple(nodes),
        )
    except KeyError as exc:
        raise ConfigError(f"[[phone_numbers]] entry {table!r}: missing {exc}") from None
    if "{number}" not in number.dial_string:
        raise ConfigError(f"phone number {number.id!r}: dial_string must contain {{number}}")
    for value in (number.caller_id, number.dial_string):
        if not _SAFE_HEADER.fullmatch(value):
            raise ConfigError(f"phone number {number.id!r}: control characters in {value!r}")
    return number


def check(config: Config) -> None:
    for kind, items in (("agent", config.agents), ("phone number", config.phone_numbers)):
        ids = [i.id for i in items]
        for item_id in ids:
            if not _ID.fullmatch(item_id):
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
    node_ids = [node.id for node in config.nodes]
    if len({i.upper() for i in node_ids}) != len(node_ids):  # one secret variable each
        raise ConfigError(f"two asterisk nodes share an id (case aside): {node_ids}")
    for number in config.phone_numbers:
        unknown = [n for n in number.nodes if n not in node_ids]
        if unknown:
            raise ConfigError(
                f"phone number {number.id!r}: nodes {unknown} are not configured ({node_ids})"
            )
        if len(set(number.nodes)) != len(number.nodes):
            raise ConfigError(f"phone number {number.id!r}: a node is named twice")
    if not 1 <= config.node_lost_after_seconds <= 86_400:
        raise ConfigError("node_lost_after_seconds must be between 1 and 86400")
    if not is_valid_region(config.default_country):
        raise ConfigError(f"default_country {config.default_country!r} is not a region code")
    if not 1 <= config.http_port <= 65535:
        raise ConfigError(f"http_port {config.http_port} is not a TCP port")
    if config.max_streams_per_tenant < 1:
        raise ConfigError("max_streams_per_tenant must be at least 1")
    if config.max_uploads_per_tenant < 1:
        raise ConfigError("max_uploads_per_tenant must be at least 1")
    if config.max_upload_bytes < 1024:
        raise ConfigError("max_upload_bytes must be at least 1024")
    try:
        DailyWindow.parse(config.calling_hours)
    except ValueError as exc:
        raise ConfigError(f'calling_hours: {exc} (e.g. "08:00-21:00", or "" for none)') from None
    if config.log_format not in ("auto", "json", "console"):
        raise ConfigError("log_format must be auto, json or console")
