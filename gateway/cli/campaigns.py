"""`gateway campaigns ...`: the user's commands, through `gateway.client`.

Configured by GATEWAY_URL (default http://127.0.0.1:8080) and GATEWAY_API_KEY, or --url and
--api-key. Human output is short lines and tables; --json prints the API's JSON (for `watch`,
one event per line). Exit status: 0 done, 1 the API refused or could not be reached, 2 usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from gateway.client import BadRequestError, Client, Event, GatewayError

DEFAULT_URL = "http://127.0.0.1:8080"
STATUSES = ("pending", "originated", "connected", "completed", "failed", "cancelled")
FINAL = ("completed", "failed", "cancelled")
REDRAW_EVERY = 0.1  # seconds, on a terminal
_CONTROL = dict.fromkeys([*range(32), 127], " ")

Action = Callable[[Client, argparse.Namespace], Any]


class UsageError(Exception):
    pass


def add_commands(subparsers: Any) -> None:
    """Add `campaigns` and its actions to the `gateway` command's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help=f"gateway URL (default: $GATEWAY_URL or {DEFAULT_URL})")
    common.add_argument(
        "--api-key", help="API key (default: $GATEWAY_API_KEY, better: arguments show in ps)"
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    campaigns = subparsers.add_parser(
        "campaigns", help="create, run and watch campaigns through the API"
    )
    actions = campaigns.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, func: Action, help: str, with_id: bool = True) -> Any:
        parser = actions.add_parser(name, parents=[common], help=help, description=help)
        if with_id:
            parser.add_argument("id", metavar="ID", help="campaign id")
        parser.set_defaults(handler=lambda args: _handle(func, args))
        return parser

    create = action("create", _create, "upload a CSV of contacts as a new draft campaign", False)
    create.add_argument("file", metavar="FILE.csv", help="CSV with a phone_number column")
    create.add_argument("--name", required=True)
    create.add_argument("--agent-id")
    create.add_argument("--phone-number-id")
    create.add_argument("--max-concurrent-calls", type=int, default=5)
    create.add_argument("--retries-per-contact", type=int, default=0)
    create.add_argument("--retry-delay-seconds", type=int, default=300)
    create.add_argument("--scheduled-at", metavar="RFC3339", help="e.g. 2030-01-31T09:00:00Z")
    create.add_argument("--max-calls-per-second", type=float)
    create.add_argument("--ring-timeout-seconds", type=int)
    create.add_argument("--timezone", help="IANA zone of the calling window, e.g. Europe/Paris")
    create.add_argument("--calling-window-start", metavar="HH:MM")
    create.add_argument("--calling-window-end", metavar="HH:MM")
    create.add_argument(
        "--retry-on",
        metavar="OUTCOMES",
        help="comma-separated, from busy,no_answer,congestion,failed,machine"
        " (default: busy,no_answer,congestion,failed; '' retries none)",
    )
    create.add_argument(
        "--amd", choices=("off", "on"), help="answering-machine detection (default off)"
    )
    create.add_argument(
        "--machine-agent-id",
        metavar="ID",
        help="agent for calls a machine answered (default: hang up)",
    )

    listing = action("list", _list, "list campaigns, newest first", False)
    _paging(listing)
    action("show", _show, "show a campaign and its counts")
    for name in ("start", "pause", "resume", "stop"):
        action(name, _command(name), f"{name} a campaign")
    action("delete", _delete, "delete a campaign that is not running")
    contacts = action("contacts", _contacts, "list a campaign's contacts")
    contacts.add_argument("--status", choices=STATUSES)
    _paging(contacts)
    contact = action("contact", _contact, "show a contact, its attempts and every decision")
    contact.add_argument("contact_id", metavar="CONTACT_ID", type=int)
    watch = action("watch", _watch, "follow a campaign live until it ends")
    watch.add_argument(
        "--last-event-id",
        type=int,
        metavar="N",
        help="resume after event N (0: replay the campaign's history); default: from now",
    )

    from gateway.cli.tenant_dnc import add_actions  # it imports this module

    add_actions(actions, common)


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, help="at most this many (default 100)")
    parser.add_argument("--offset", type=int)
    parser.add_argument("--page", type=int, help="page of --limit (default 100) items")


def _handle(func: Action, args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("GATEWAY_URL") or DEFAULT_URL
    key = args.api_key or os.environ.get("GATEWAY_API_KEY")
    try:
        if not key:
            raise UsageError("no API key: set GATEWAY_API_KEY (or give --api-key)")
        with Client(url, key) as client:
            result = func(client, args)
    except UsageError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        detail = exc.message
        if isinstance(exc, BadRequestError) and exc.row is not None and "row" not in detail:
            detail += f" (row {exc.row})"
        prefix = f"{exc.status} " if exc.status else ""
        print(f"gateway: {prefix}{detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `| head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if args.json and result is not None:
        print(json.dumps(result, indent=2))
    return 0


def _clean(value: Any) -> str:
    """Server text for a terminal: no control characters (no escape sequences)."""
    return "-" if value is None else str(value).translate(_CONTROL)


def _table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [headers, *([_clean(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)


def _create(client: Client, args: argparse.Namespace) -> Any:
    try:
        contacts = open(args.file, "rb")  # noqa: SIM115 - closed below, streamed meanwhile
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    with contacts:
        campaign = client.campaigns.create(
            args.name,
            agent_id=args.agent_id,
            phone_number_id=args.phone_number_id,
            contacts=contacts,
            max_concurrent_calls=args.max_concurrent_calls,
            retries_per_contact=args.retries_per_contact,
            retry_delay_seconds=args.retry_delay_seconds,
            scheduled_at=args.scheduled_at,
            max_calls_per_second=args.max_calls_per_second,
            ring_timeout_seconds=args.ring_timeout_seconds,
            timezone=args.timezone,
            calling_window_start=args.calling_window_start,
            calling_window_end=args.calling_window_end,
            retry_on=args.retry_on,
            amd=args.amd,
            machine_agent_id=args.machine_agent_id,
        )
    if args.json:
        return campaign
    report = campaign.get("import", {})
    skipped, listed = report.get("duplicates", 0), report.get("dnc", 0)
    print(
        f"created campaign {campaign['id']} ({_clean(campaign['name'])}):"
        f" {campaign['counts']['total']} contacts"
        + (f", {skipped} duplicate rows skipped" if skipped else "")
        + (f", {listed} on a do-not-call list (never dialled)" if listed else "")
        + f"; status {campaign['status']}"
    )
    return None


def _list(client: Client, args: argparse.Namespace) -> Any:
    page = client.campaigns.list(limit=args.limit, offset=args.offset, page=args.page)
    if args.json:
        return page
    rows = []
    for c in page["campaigns"]:
        counts = c["counts"]
        done = sum(counts[s] for s in FINAL)
        rows.append([c["id"], c["name"], c["status"], f"{done}/{counts['total']}", c["created_at"]])
    _table(["ID", "NAME", "STATUS", "DONE", "CREATED"], rows)
    print(f"{len(rows)} of {page['total']} campaigns")
    return None


SHOWN = (
    *("id", "name", "status", "agent_id", "phone_number_id", "max_concurrent_calls"),
    *("max_calls_per_second", "retries_per_contact", "retry_delay_seconds"),
    *("ring_timeout_seconds", "timezone", "calling_window_start", "calling_window_end"),
    *("retry_on", "amd", "machine_agent_id"),
    *("scheduled_at", "created_at", "started_at", "completed_at", "created_by"),
)


def _show(client: Client, args: argparse.Namespace) -> Any:
    campaign = client.campaigns.get(args.id)
    if args.json:
        return campaign
    for name in SHOWN:
        value = campaign.get(name)
        if isinstance(value, list):
            value = ",".join(value) or "(none)"
        if value is not None:
            print(f"{name + ':':<22}{_clean(value)}")
    counts = campaign["counts"]
    print(f"{'contacts:':<22}{counts['total']} ({_counts(counts)})")
    return None


def _command(name: str) -> Action:
    def command(client: Client, args: argparse.Namespace) -> Any:
        campaign = getattr(client.campaigns, name)(args.id)
        if args.json:
            return campaign
        print(f"campaign {campaign['id']}: {campaign['status']}")
        return None

    return command


def _delete(client: Client, args: argparse.Namespace) -> Any:
    client.campaigns.delete(args.id)
    if args.json:
        return {"id": args.id, "deleted": True}
    print(f"deleted campaign {_clean(args.id)}")
    return None


def _contacts(client: Client, args: argparse.Namespace) -> Any:
    page = client.campaigns.list_contacts(
        args.id, status=args.status, limit=args.limit, offset=args.offset, page=args.page
    )
    if args.json:
        return page
    rows = [
        [c["id"], c["phone_number"], c["status"], c["attempts"], c["last_outcome"], c["updated_at"]]
        for c in page["contacts"]
    ]
    _table(["ID", "PHONE", "STATUS", "ATTEMPTS", "OUTCOME", "UPDATED"], rows)
    print(f"{len(rows)} of {page['total']} contacts")
    return None


def _contact(client: Client, args: argparse.Namespace) -> Any:
    contact = client.campaigns.get_contact(args.id, args.contact_id)
    if args.json:
        return contact
    print(f"contact {contact['id']} {contact['phone_number']}: {contact['status']}"
          f" (last outcome {contact['last_outcome'] or '-'};"
          f" zones {', '.join(contact['timezones'])})"
          + ("; opted out" if contact.get("opted_out") else ""))  # fmt: skip
    rows = [[a["number"], a["started_at"], a["ended_at"], a["outcome"], a["hangup_cause"],
             a["sip_code"], a["talk_seconds"], a.get("answered_by"), a.get("amd_cause")]
            for a in contact["attempts"]]  # fmt: skip
    if rows:
        _table(["ATTEMPT", "STARTED", "ENDED", "OUTCOME", "CAUSE", "SIP", "TALK", "ANSWERED_BY",
                "AMD_CAUSE"], rows)  # fmt: skip
    decisions = [[d["time"], d["decision"], d["detail"]] for d in contact["decisions"]]
    _table(["TIME", "DECISION", "DETAIL"], decisions)
    return None


class Progress:
    """A campaign's live figures, from its snapshot then its events, rendered as one line."""

    def __init__(self, campaign: dict[str, Any], after: int | None = None) -> None:
        """`after`: the Last-Event-ID the stream starts from (None: live from now)."""
        self.id = campaign["id"]
        self.status = campaign["status"]
        self.counts = dict(campaign["counts"])
        # Contact events move counts between snapshots, but only from a state they follow:
        # now, or the very beginning (every campaign is born a draft with all contacts
        # pending). Resuming mid-history, the metrics snapshots alone update the counts.
        self.follow = after is None or after == 0
        if after == 0:
            total = self.counts.get("total", 0)
            self.status = "draft"
            self.counts = {"total": total, **dict.fromkeys(STATUSES, 0), "pending": total}
        self.in_flight = self.counts["originated"] + self.counts["connected"]
        self.rate = 0.0
        self.by_node: dict[str, int] = {}  # calls in flight on each Asterisk node
        self.waiting = 0  # pending contacts outside their calling window
        self.answer_rate: float | None = None
        self.talk: float | None = None

    def apply(self, event: Event) -> None:
        data = event.data
        if event.event == "metrics":
            self.status, self.counts = data["status"], dict(data["counts"])
            self.in_flight = data.get("in_flight", self.in_flight)
            self.rate = data.get("calls_per_second") or 0.0
            self.by_node = dict(data.get("calls_by_node") or {})
            self.waiting = data.get("waiting_for_window") or 0
            self.answer_rate = data.get("answer_rate")
            self.talk = data.get("average_talk_seconds")
        elif event.event == "contact" and self.follow:
            if self.counts.get(data["from"], 0) > 0:
                self.counts[data["from"]] -= 1
            self.counts[data["to"]] = self.counts.get(data["to"], 0) + 1
            self.in_flight = self.counts["originated"] + self.counts["connected"]
        elif event.event == "campaign":
            self.status = data["to"]
        elif event.event == "end":
            self.status = data["status"]

    def line(self, bar_width: int = 24) -> str:
        total = self.counts.get("total", 0)
        done = sum(self.counts.get(s, 0) for s in FINAL)
        share = done / total if total else 0.0
        filled = round(share * bar_width)
        bar = "#" * filled + "." * (bar_width - filled)
        counts = "  ".join(f"{s} {self.counts.get(s, 0)}" for s in STATUSES)
        return (
            f"[{bar}] {share:4.0%} {done}/{total} | {counts} | in flight {self.in_flight}"
            + (f" ({nodes})" if (nodes := self.nodes()) else "")
            + f" | {self.rate:.1f} calls/s"
            + (f" | {self.waiting} waiting for their window" if self.waiting else "")
            + f" | {self.status}"
        )

    def nodes(self) -> str:
        """Calls in flight per node, e.g. "a 3, b 2"; empty with one node (nothing to
        tell apart)."""
        if len(self.by_node) < 2:
            return ""
        return ", ".join(f"{node} {calls}" for node, calls in sorted(self.by_node.items()))

    def summary(self) -> str:
        parts = [f"campaign {self.id} {self.status}: {self.counts.get('total', 0)} contacts"]
        parts.append(", ".join(f"{self.counts.get(s, 0)} {s}" for s in FINAL))
        if self.answer_rate is not None:
            parts.append(f"answer rate {self.answer_rate:.0%}")
        if self.talk is not None:
            parts.append(f"average talk {self.talk:.0f}s")
        return "; ".join(parts)


def _watch(client: Client, args: argparse.Namespace, out: TextIO | None = None) -> Any:
    out = out or sys.stdout
    campaign = client.campaigns.get(args.id)
    events = client.campaigns.stream_events(args.id, args.last_event_id)
    if args.json:
        for event in events:
            print(json.dumps(dataclasses.asdict(event)), file=out, flush=True)
        return None
    progress, tty = Progress(campaign, args.last_event_id), out.isatty()
    last_draw, last_line = 0.0, ""

    def draw(final: bool = False) -> None:
        nonlocal last_line
        line = progress.line()
        if tty:
            width = shutil.get_terminal_size().columns - 1
            out.write("\r" + line[:width] + "\x1b[K" + ("\n" if final else ""))
        elif line != last_line:  # a log, not an animation: only what changed
            out.write(time.strftime("%H:%M:%S ") + line + "\n")
        last_line = line
        out.flush()

    draw()
    try:
        for event in events:
            progress.apply(event)
            now = time.monotonic()
            if event.event == "end":
                draw(final=True)
            elif event.event in ("metrics", "campaign") or (tty and now - last_draw > REDRAW_EVERY):
                draw()
                last_draw = now
    except BaseException:
        if tty:
            out.write("\n")
        raise
    print(progress.summary(), file=out)
    return None
