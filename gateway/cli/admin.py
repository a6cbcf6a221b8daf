"""The `gateway` command: the daemon and the operator's commands on its database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from gateway import __version__
from gateway.config import Config, ConfigError, load
from gateway.store.database import migrate
from gateway.store.sqlite import SqliteStore
from gateway.store.tenants import TenantExists, UnknownTenant


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", help="TOML configuration file (default: $GATEWAY_CONFIG)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("serve", help="run the daemon")
    commands.add_parser("migrate", help="create or upgrade the database schema")

    tenants = commands.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = tenants.add_parser("create", help="create a tenant")
    create.add_argument("name")
    create.add_argument("--max-concurrent-calls", type=_positive_int, required=True)
    create.add_argument("--max-calls-per-second", type=_positive_float, required=True)
    update = tenants.add_parser("update", help="change a tenant's caps")
    update.add_argument("name")
    update.add_argument("--max-concurrent-calls", type=_positive_int)
    update.add_argument("--max-calls-per-second", type=_positive_float)
    tenants.add_parser("list", help="list tenants")

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    key_create = keys.add_parser("create", help="create a key for a tenant (printed once)")
    key_create.add_argument("tenant")
    key_list = keys.add_parser("list", help="list keys (prefixes only)")
    key_list.add_argument("tenant", nargs="?")
    revoke = keys.add_parser("revoke", help="revoke a key, by the key or its listed prefix")
    revoke.add_argument("key")

    from gateway.cli import dnc

    dnc.add_commands(commands)

    try:
        from gateway.cli.campaigns import add_commands
    except ImportError:  # the user-facing campaign commands are optional
        pass
    else:
        add_commands(commands)
    return parser


async def _admin(config: Config, args: argparse.Namespace) -> int:
    store = await SqliteStore.open(config.db_path)
    try:
        if args.command == "tenants" and args.action == "create":
            tenant = await store.tenants.create(
                args.name, args.max_concurrent_calls, args.max_calls_per_second
            )
            print(f"created tenant {tenant.name} (id {tenant.id})")
        elif args.command == "tenants" and args.action == "update":
            tenant = await store.tenants.update_limits(
                args.name, args.max_concurrent_calls, args.max_calls_per_second
            )
            print(
                f"{tenant.name}: max_concurrent_calls={tenant.max_concurrent_calls}"
                f" max_calls_per_second={tenant.max_calls_per_second:g}"
            )
        elif args.command == "tenants":
            print(f"{'NAME':<24} {'MAX_CALLS':>9} {'MAX_CPS':>8}")
            for tenant in await store.tenants.list():
                print(
                    f"{tenant.name:<24} {tenant.max_concurrent_calls:>9}"
                    f" {tenant.max_calls_per_second:>8g}"
                )
        elif args.action == "create":
            key = await store.tenants.create_key(args.tenant)
            print(f"API key for tenant {args.tenant} (shown once, store it now):")
            print(key)
        elif args.action == "list":
            print(f"{'PREFIX':<12} {'TENANT':<24} {'CREATED':<26} REVOKED")
            for info in await store.tenants.list_keys(args.tenant):
                print(
                    f"{info.prefix:<12} {info.tenant:<24} {info.created_at:<26}"
                    f" {info.revoked_at or '-'}"
                )
        else:
            revoked = await store.tenants.revoke_key(args.key)
            if not revoked:
                print("no active key matches", file=sys.stderr)
                return 1
            print(f"revoked {revoked} key(s)")
    except (TenantExists, UnknownTenant) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is not None:  # user commands talk to the API, not the database
        return int(handler(args))
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from gateway.daemon.serve import serve

        return serve(config)
    if args.command == "migrate":
        applied = migrate(config.db_path)
        print("applied: " + ", ".join(applied) if applied else "schema is up to date")
        return 0
    if args.command == "dnc":
        from gateway.cli import dnc

        return dnc.run(config, args)
    return asyncio.run(_admin(config, args))
