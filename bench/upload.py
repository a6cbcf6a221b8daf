"""Upload benchmark: a generated CSV through the real daemon's API, next to a bare
sqlite3 executemany of the same rows into the same schema, in the same run.

    .venv/bin/python bench/upload.py [--rows 1000000]

Prints rows/s for both, their ratio, and the daemon's peak RSS (VmHWM).
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

from gateway.store.database import PRAGMAS, migrate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("phone_number,first_name,last_name,account_id\n")
        for i in range(rows):
            out.write(f"+1 (415) {200 + i // 10000:03d}-{i % 10000:04d},Ann{i},Lee,A{i}\n")


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "contacts.csv"
        write_csv(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        port = free_port()
        env = {
            **os.environ,
            "GATEWAY_DB_PATH": str(folder / "gateway.db"),
            "GATEWAY_HTTP_PORT": str(port),
            "GATEWAY_MAX_UPLOAD_BYTES": str(10**10),
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
            elapsed, body = asyncio.run(upload(url, key, csv))
            rss_peak = peak_rss_mb(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
        api_rate = args.rows / elapsed
        bare_rate = bare_sqlite(folder / "bare.db", args.rows)
    print(f"rows:                 {args.rows:,} ({size_mb:.0f} MB CSV)")
    print(f"contacts stored:      {body['counts']['total']:,}")
    print(f"API upload:           {elapsed:.2f} s, {api_rate:,.0f} rows/s")
    print(f"bare sqlite3:         {bare_rate:,.0f} rows/s (executemany, same schema)")
    print(f"ratio API/bare:       {api_rate / bare_rate:.2f}")
    print(f"daemon peak RSS:      {rss_peak:.0f} MB (at start {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
