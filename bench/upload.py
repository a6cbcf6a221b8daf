"""Upload benchmark: a generated CSV through the real daemon's API, next to a bare
sqlite3 executemany of the same rows into the same schema, in the same run.

    .venv/bin/python bench/upload.py [--rows 1000000]
    .venv/bin/python bench/upload.py --wide

Prints rows/s for both, their ratio, the daemon's CPU time per row (all threads, and the
event loop's thread), the parse worker's CPU per row and peak RSS (an upload this large is
parsed in it: gateway/parseworker.py), and the daemon's peak RSS (VmHWM).

`--wide`: instead, a file just under the default upload limit (50 MB) of 50 custom columns
whose every value is as long as the byte limit of its AMI line allows, uploaded with the
default limit; prints the daemon's peak RSS (target: under 200 MB) and rows/s, no bare
baseline (it measures memory, not speed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from gateway.config import Config
from gateway.domain.csvimport import MAX_CUSTOM_FIELDS
from gateway.domain.variables import custom_variable, value_budget
from gateway.store.database import PRAGMAS, migrate

MULTIPART_SLACK = 4096  # the form's other bytes, counted in the upload limit too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("phone_number,first_name,last_name,account_id\n")
        for i in range(rows):
            out.write(f"+1 (415) {200 + i // 10000:03d}-{i % 10000:04d},Ann{i},Lee,A{i}\n")


def write_wide_csv(path: Path, max_bytes: int) -> int:
    """Rows of MAX_CUSTOM_FIELDS values at their byte limit, up to `max_bytes` in all."""
    columns = [f"c{i:02d}" for i in range(MAX_CUSTOM_FIELDS)]
    header = "phone_number," + ",".join(columns) + "\n"
    values = ",".join("x" * value_budget(custom_variable(c)) for c in columns)
    size, rows = len(header), 0
    with path.open("w") as out:
        out.write(header)
        while True:
            line = f"+1415{200 + rows // 10000:03d}{rows % 10000:04d},{values}\n"
            if size + len(line) > max_bytes:
                return rows
            out.write(line)
            size += len(line)
            rows += 1


def bare_sqlite(db: Path, rows: int) -> float:
    """The same rows (already normalised) by executemany into the same schema."""
    migrate(db)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute(
        "INSERT INTO tenants (name, max_concurrent_calls, max_calls_per_second, created_at)"
        " VALUES ('t', 1, 1, '')"
    )
    conn.execute(
        "INSERT INTO campaigns (id, tenant_id, name, status, agent_id, phone_number_id,"
        " max_concurrent_calls, retries_per_contact, retry_delay_seconds,"
        " ring_timeout_seconds, timezone, created_at, created_by)"
        " VALUES ('c', 1, 'c', 'draft', 'a', 'p', 1, 0, 60, 30, 'UTC', '', 't')"
    )
    data = [
        (
            i + 2,
            f"+1415{200 + i // 10000:03d}{i % 10000:04d}",
            json.dumps([f"Ann{i}", "Lee", f"A{i}"]),
        )
        for i in range(rows)
    ]
    started = time.perf_counter()
    for start in range(0, rows, 5000):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR IGNORE INTO contacts (campaign_pk, row_number, phone_number,"
            " custom_fields) VALUES (1, ?, ?, ?)",
            data[start : start + 5000],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return rows / elapsed


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(all threads, the event loop's thread) CPU seconds of a process so far: the loop
    parses the CSV, SQLite writes in its own thread, so the first bounds the rate."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(stat: str) -> float:
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    return of(Path(f"/proc/{pid}/stat").read_text()), of(
        Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    )


async def upload(url: str, key: str, csv: Path) -> tuple[float, dict]:
    form = aiohttp.FormData()
    form.add_field("name", "bench")
    form.add_field("contacts", csv.open("rb"), filename="bench.csv", content_type="text/csv")
    timeout = aiohttp.ClientTimeout(total=3600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        async with session.post(
            url + "/api/v1/campaigns", data=form, headers={"Authorization": f"Bearer {key}"}
        ) as response:
            body = await response.json()
            elapsed = time.perf_counter() - started
    if response.status != 201:
        raise SystemExit(f"upload failed: {response.status} {body}")
    return elapsed, body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--wide", action="store_true", help="50 columns at the byte limit")
    args = parser.parse_args()
    max_upload = Config().max_upload_bytes if args.wide else 10**10
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "contacts.csv"
        if args.wide:
            args.rows = write_wide_csv(csv, max_upload - MULTIPART_SLACK)
        else:
            write_csv(csv, args.rows)
        csv_bytes = csv.stat().st_size
        size_mb = csv_bytes / 1e6
        port = free_port()
        env = {
            **os.environ,
            "GATEWAY_DB_PATH": str(folder / "gateway.db"),
            "GATEWAY_HTTP_PORT": str(port),
            "GATEWAY_MAX_UPLOAD_BYTES": str(max_upload),
            "GATEWAY_LOG_LEVEL": "warning",
            "GATEWAY_AMI_PORT": "9",  # no dialling: this measures the upload only
        }
        config = folder / "gateway.toml"
        config.write_text(
            '[campaigns]\ndefault_agent = "a"\ndefault_phone_number = "p"\n'
            '[[agents]]\nid = "a"\ncontext = "campaign"\n'
            '[[phone_numbers]]\nid = "p"\ncaller_id = "+15551230000"\n'
            'dial_string = "PJSIP/{number}@carrier"\n'
        )
        gateway = [sys.executable, "-m", "gateway", "--config", str(config)]
        run = {"env": env, "check": True, "capture_output": True, "text": True}
        subprocess.run([*gateway, "tenants", "create", "bench", "--max-concurrent-calls",
                        "10", "--max-calls-per-second", "1"], **run)  # fmt: skip
        key = subprocess.run([*gateway, "keys", "create", "bench"], **run).stdout.split()[-1]
        daemon = subprocess.Popen([*gateway, "serve"], env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rss_before = peak_rss_mb(daemon.pid)
            cpu_before = cpu_seconds(daemon.pid)
            elapsed, body = asyncio.run(upload(url, key, csv))
            cpu_after = cpu_seconds(daemon.pid)
            rss_peak = peak_rss_mb(daemon.pid)
            children = [int(c) for c in Path(f"/proc/{daemon.pid}/task/{daemon.pid}/children")
                        .read_text().split()]  # fmt: skip
            worker_rss = max((peak_rss_mb(c) for c in children), default=0.0)
            worker_cpu = sum(cpu_seconds(c)[0] for c in children)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
        api_rate = args.rows / elapsed
        bare_rate = None if args.wide else bare_sqlite(folder / "bare.db", args.rows)
    print(f"rows:                 {args.rows:,} ({size_mb:.0f} MB CSV, {csv_bytes:,.0f} bytes)")
    print(f"contacts stored:      {body['counts']['total']:,}")
    speed = f"{api_rate:,.0f} rows/s, {size_mb / elapsed:.0f} MB/s"
    print(f"API upload:           {elapsed:.2f} s, {speed}")
    if bare_rate is not None:
        print(f"bare sqlite3:         {bare_rate:,.0f} rows/s (executemany, same schema)")
        print(f"ratio API/bare:       {api_rate / bare_rate:.2f}")
    cpu, loop_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    print(
        f"daemon CPU:           {cpu:.2f} s, {cpu / args.rows * 1e6:.1f} µs a row"
        f" (event loop thread {loop_cpu / args.rows * 1e6:.1f} µs a row)"
    )
    if children:
        print(
            f"parse worker:         {worker_cpu / args.rows * 1e6:.1f} µs a row of CPU,"
            f" peak RSS {worker_rss:.0f} MB (daemon and worker {rss_peak + worker_rss:.0f} MB)"
        )
    print(f"daemon peak RSS:      {rss_peak:.0f} MB (at start {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
