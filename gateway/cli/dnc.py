"""`gateway dnc ...`: the host-wide do-not-call list, kept by the operator on the database.

The host list (tenant_id 0) applies to every tenant and is never shown to one. Numbers are
normalised like contacts, with the configured `default_country`. Bad input is refused
whole: nothing is added, and the exit status is 1. `remove` of a number that cannot be read
but is written as `+` and 6-15 digits removes that exact text (listed by an older reader).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from gateway.config import Config
from gateway.dnc_import import DncImport
from gateway.domain.dnc import DncInputError, normalise_number, parse_reason
from gateway.domain.dnc_legacy import also_stored, stored_text
from gateway.store.dnc import HOST
from gateway.store.renumber import renumber_stored_numbers
from gateway.store.sqlite import SqliteStore

READ_CHUNK = 256 * 1024
LIST_PAGE = 10_000


def _count(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer of at least {low}")
        return value

    return parse


def add_commands(commands: Any) -> None:
    """Add `dnc` and its actions to the `gateway` command's subparsers."""
    dnc = commands.add_parser("dnc", help="the host-wide do-not-call list (every tenant)")
    actions = dnc.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add numbers to the host list")
    add.add_argument("numbers", nargs="+", metavar="NUMBER")
    add.add_argument("--reason", default="", help="why they are listed")
    imp = actions.add_parser("import", help="add every number of a CSV (phone_number column)")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--reason", default="", help="why they are listed")
    listing = actions.add_parser("list", help="list the host list, by number")
    listing.add_argument("--limit", type=_count(1), help="at most this many (default: all)")
    listing.add_argument("--offset", type=_count(0), default=0, help="skip this many first")
    remove = actions.add_parser("remove", help="remove a number from the host list")
    remove.add_argument("number", metavar="NUMBER")


def run(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_run(config, args))


async def _run(config: Config, args: argparse.Namespace) -> int:
    region = config.default_country
    store = await SqliteStore.open(config.db_path)
    try:
        if args.action == "add":
            reason = parse_reason(args.reason)
            numbers = [
                normalise_number(raw, region, f"number {i}")
                for i, raw in enumerate(args.numbers, 1)
            ]
            added, already = await store.dnc.add(HOST, numbers, reason)
            print(f"host list: added {added}, already listed {already}")
        elif args.action == "import":
            return await _import(store, args, region)
        elif args.action == "list":
            await _list(store, args)
        else:
            return await _remove(store, args.number, region, config.allow_premium)
    except DncInputError as exc:
        print(f"gateway: {exc}; nothing was added", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0


async def _remove(store: SqliteStore, raw: str, region: str, allow_premium: bool) -> int:
    # The upgrade's re-reading of the lists first, if the daemon has not done it yet: it
    # would list the number again from an old form it had not read (the step is
    # idempotent, so a daemon starting meanwhile does no harm). Not the contacts' step: it
    # would fail a contact do_not_call on the very entry being removed, and its per-run
    # cache of a campaign's zone lists must not race the daemon's.
    await renumber_stored_numbers(
        store.db, region, allow_premium=allow_premium, quiet=True, lists_only=True
    )
    try:
        number = normalise_number(raw, region, "NUMBER")
    except DncInputError as exc:
        # Not a number today: an entry an older reader listed may still be written so.
        legacy = stored_text(raw)
        if legacy is None or not await store.dnc.remove(HOST, legacy):
            print(f"gateway: not on the host list: {exc}", file=sys.stderr)
            return 1
        number = legacy
    else:
        if not await store.dnc.remove(HOST, number, *also_stored(raw, number)):
            print(f"gateway: {number} is not on the host list", file=sys.stderr)
            return 1
    print(f"removed {number} from the host list")
    return 0


async def _import(store: SqliteStore, args: argparse.Namespace, region: str) -> int:
    reason = parse_reason(args.reason)
    try:
        # The CLI's own loop, nothing else on it: blocking reads are fine (they overlap the
        # database thread's writes all the same).
        source = open(args.file, "rb")  # noqa: ASYNC230, SIM115 - closed below
    except OSError as exc:
        print(f"gateway: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    importer = DncImport(store.dnc, HOST, region, field=args.file)  # errors name the file
    importer.saw_file = True  # an empty file is "empty", not "missing"
    await importer.begin()
    try:
        with source:
            while chunk := source.read(READ_CHUNK):
                await importer.feed(chunk)
        added, already = await importer.finish(reason)
    except BaseException:
        await importer.abort()
        raise
    seconds = time.perf_counter() - started
    print(
        f"host list: added {added}, already listed {already}"
        f" ({importer.rows} numbers read in {seconds:.1f} s)"
    )
    return 0


async def _list(store: SqliteStore, args: argparse.Namespace) -> None:
    """Every number (or --limit of them), read a page at a time: never the list whole."""
    limit = args.limit  # None: all
    entries, total = await store.dnc.list(HOST, min(LIST_PAGE, limit or LIST_PAGE), args.offset)
    print(f"{'PHONE_NUMBER':<17} {'CREATED':<25} REASON")
    shown = 0
    while entries:
        for entry in entries:
            print(f"{entry.phone_number:<17} {entry.created_at:<25} {entry.reason}")
        shown += len(entries)
        if limit is not None and shown >= limit:
            break
        page = LIST_PAGE if limit is None else min(LIST_PAGE, limit - shown)
        entries = await store.dnc.after(HOST, entries[-1].phone_number, page)
    print(f"{shown} of {total} numbers on the host list")
