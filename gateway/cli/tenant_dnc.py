"""`gateway campaigns dnc ...`: the tenant's do-not-call list, through the API.

(`gateway dnc ...` is the operator's host-wide list, on the database.) Same configuration,
output and exit statuses as the other `gateway campaigns` actions. Messages name the list
as `gateway dnc` names the host's ("tenant list: added ...", "removed +1... from the tenant
list"), with the number as the server normalised it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gateway.cli.campaigns import UsageError, _clean, _handle, _table
from gateway.client import BadRequestError, Client


def add_actions(actions: Any, common: argparse.ArgumentParser) -> None:
    """Add `dnc` and its actions under `gateway campaigns`."""
    text = "the tenant's do-not-call list: list, add, import, remove"
    dnc = actions.add_parser("dnc", help=text, description=text)
    sub = dnc.add_subparsers(dest="dnc_action", required=True, metavar="ACTION")

    def action(name: str, func: Callable[[Client, argparse.Namespace], Any], help: str) -> Any:
        parser = sub.add_parser(name, parents=[common], help=help, description=help)
        parser.set_defaults(handler=lambda args: _handle(func, args))
        return parser

    listing = action("list", _list, "list the numbers, by number")
    listing.add_argument("--limit", type=int, help="at most this many (default 100)")
    listing.add_argument("--offset", type=int)
    listing.add_argument("--phone-number", metavar="NUMBER", help="look up one number")
    add = action("add", _add, "add numbers (all or, on a bad one, none)")
    add.add_argument("numbers", nargs="+", metavar="NUMBER")
    add.add_argument("--reason", help="why they are listed")
    imp = action("import", _import, "add every number of a CSV with a phone_number column")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--reason", help="why they are listed")
    remove = action("remove", _remove, "remove a number")
    remove.add_argument("number", metavar="NUMBER")


def _list(client: Client, args: argparse.Namespace) -> Any:
    page = client.dnc.list(limit=args.limit, offset=args.offset, phone_number=args.phone_number)
    if args.json:
        return page
    rows = [[n["phone_number"], n["created_at"], n["reason"]] for n in page["numbers"]]
    _table(["PHONE_NUMBER", "CREATED", "REASON"], rows)
    if args.phone_number is None:
        print(f"{len(rows)} of {page['total']} numbers")
    elif not rows:
        print("not on the list")
    return None


def _added(result: dict[str, Any], args: argparse.Namespace) -> Any:
    if args.json:
        return result
    print(f"tenant list: added {result['added']}, already listed {result['already']}")
    return None


def _add(client: Client, args: argparse.Namespace) -> Any:
    return _added(client.dnc.add(args.numbers, reason=args.reason), args)


def _import(client: Client, args: argparse.Namespace) -> Any:
    try:
        numbers = open(args.file, "rb")  # noqa: SIM115 - closed below, streamed meanwhile
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    with numbers:
        return _added(client.dnc.add_file(numbers, reason=args.reason), args)


def _remove(client: Client, args: argparse.Namespace) -> Any:
    number = _listed_as(client, args.number) or args.number
    client.dnc.remove(number)  # not listed: the server's 404 says so (and why)
    if args.json:
        return {"phone_number": number, "removed": True}
    print(f"removed {_clean(number)} from the tenant list")
    return None


def _listed_as(client: Client, raw: str) -> str | None:
    """The number as the list holds it (E.164, normalised by the server), if listed."""
    try:
        numbers = client.dnc.list(phone_number=raw)["numbers"]
    except BadRequestError:
        return None  # unreadable: the removal answers why
    return numbers[0]["phone_number"] if numbers else None
