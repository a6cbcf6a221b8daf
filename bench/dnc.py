"""Do-not-call import benchmark: a generated list through the real daemon's API (multipart
CSV upload) and through `gateway dnc import`, next to bare sqlite3 executemany of the same
numbers, already normalised, into the same table, in the same run.

    .venv/bin/python bench/dnc.py [--numbers 1000000]

Prints numbers/s for each, the ratios, normalise() alone and the CSV parser alone (the
event loop's share, which a slower normalise() would grow), the longest write transaction
of an import (the final move into the list: the dialler waits for it), the daemon's peak
RSS, and dial-time probes per second (`listed_on`) against the full list.
Target: at least 100,000 numbers/s through both the API and the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from gateway.dnc_import import DncImport
from gateway.domain.dnc import CsvNumbers
from gateway.domain.phone import normalise
from gateway.store.database import PRAGMAS, Database, migrate
from gateway.store.dnc import DncStaging, DncStore, listed_on

CHUNK = 256 * 1024
BATCH = 50_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_numbers(count: int) -> list[str]:
    """US numbers in national format with punctuation (the slower path of normalise()),
    in a scrambled order: a list is not sorted by number."""
    step = 7919  # prime, not a factor of 10**k: i * step % count visits every i once
    numbers = []
    for i in range(count):
        n = (i * step) % count
        numbers.append(f"(415) {200 + n // 10000:03d}-{n % 10000:04d}")
    return numbers


def time_normalise(raw: list[str]) -> float:
    started = time.perf_counter()
    for number in raw:
        normalise(number, "US")
    return len(raw) / (time.perf_counter() - started)


def time_parser(data: bytes) -> tuple[float, list[str]]:
    started = time.perf_counter()
    parser = CsvNumbers("US")
    numbers: list[str] = []
    for i in range(0, len(data), CHUNK):
        numbers += parser.feed(data[i : i + CHUNK])
    numbers += parser.finish()
    return len(numbers) / (time.perf_counter() - started), numbers


def bare_sqlite(db: Path, numbers: list[str]) -> float:
    """The same numbers, normalised, by executemany into the same table (a transaction
    per 50,000, as the import's batches)."""
    migrate(db)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    rows = [(n, 1, "bench", "2026-12-01T00:00:00.000Z") for n in numbers]
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR IGNORE INTO dnc_numbers (phone_number, tenant_id, reason, created_at)"
            " VALUES (?, ?, ?, ?)",
            rows[start : start + BATCH],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def probes(db: Path, numbers: list[str], count: int = 200_000) -> float:
    """listed_on() per second on the full list: half listed, half not."""
    conn = sqlite3.connect(db, isolation_level=None)
    sample = [numbers[(i * 37) % len(numbers)] for i in range(count // 2)]
    sample += ["+1202" + n[5:] for n in sample]  # same shape, not listed
    started = time.perf_counter()
    conn.execute("BEGIN")
    hits = sum(listed_on(conn, 1, n) is not None for n in sample)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    assert hits == len(sample) // 2, hits
    return len(sample) / elapsed


async def in_process(db_path: Path, csv: Path) -> tuple[float, float]:
    """The import in this process: (numbers/s, seconds of the final move)."""
    db = await Database.open(db_path)
    commit_seconds = 0.0
    original = DncStaging.commit

    async def timed(self: DncStaging, tenant_id: int, reason: str) -> tuple[int, int]:
        nonlocal commit_seconds
        started = time.perf_counter()
        try:
            return await original(self, tenant_id, reason)
        finally:
            commit_seconds = time.perf_counter() - started

    DncStaging.commit = timed  # type: ignore[method-assign]
    try:
        importer = DncImport(DncStore(db), 1, "US")
        started = time.perf_counter()
        await importer.begin()
        with csv.open("rb") as source:
            while chunk := source.read(CHUNK):
                await importer.feed(chunk)
        await importer.finish("bench")
        elapsed = time.perf_counter() - started
    finally:
        DncStaging.commit = original  # type: ignore[method-assign]
        await db.close()
    return importer.rows / elapsed, commit_seconds


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def upload(url: str, key: str, csv: Path) -> tuple[float, dict]:
    form = aiohttp.FormData()
    form.add_field("reason", "bench")
    form.add_field("numbers", csv.open("rb"), filename="dnc.csv", content_type="text/csv")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
        started = time.perf_counter()
        async with session.post(
            url + "/api/v1/dnc", data=form, headers={"Authorization": f"Bearer {key}"}
        ) as response:
            body = await response.json()
            elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"upload failed: {response.status} {body}")
    return elapsed, body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=1_000_000)
    args = parser.parse_args()
    count = args.numbers
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = raw_numbers(count)
        csv = folder / "dnc.csv"
        csv.write_text("phone_number\n" + "\n".join(raw) + "\n")
        data = csv.read_bytes()
        normalise_rate = time_normalise(raw)
        parser_rate, numbers = time_parser(data)
        del data, raw

        port = free_port()
        env = {
            **os.environ,
            "GATEWAY_DB_PATH": str(folder / "gateway.db"),
            "GATEWAY_HTTP_PORT": str(port),
            "GATEWAY_MAX_UPLOAD_BYTES": str(10**10),
            "GATEWAY_LOG_LEVEL": "warning",
            "GATEWAY_AMI_PORT": "9",  # no dialling: this measures the import only
        }
        gateway = [sys.executable, "-m", "gateway"]
        run = {"env": env, "check": True, "capture_output": True, "text": True}
        subprocess.run([*gateway, "tenants", "create", "bench", "--max-concurrent-calls",
                        "10", "--max-calls-per-second", "1"], **run)  # fmt: skip
        key = subprocess.run([*gateway, "keys", "create", "bench"], **run).stdout.split()[-1]
        daemon = subprocess.Popen([*gateway, "serve"], env=env)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rss_before = peak_rss_mb(daemon.pid)
            api_seconds, body = asyncio.run(upload(f"http://127.0.0.1:{port}", key, csv))
            rss_peak = peak_rss_mb(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
        assert body == {"added": count, "already": 0}, body

        cli_env = {**env, "GATEWAY_DB_PATH": str(folder / "cli.db")}
        subprocess.run([*gateway, "migrate"], **{**run, "env": cli_env})
        started = time.perf_counter()
        done = subprocess.run([*gateway, "dnc", "import", str(csv)], **{**run, "env": cli_env})
        cli_seconds = time.perf_counter() - started
        assert done.stdout.startswith(f"host list: added {count},"), done.stdout

        inproc_rate, commit_seconds = asyncio.run(in_process(folder / "inproc.db", csv))
        bare_rate = bare_sqlite(folder / "bare.db", numbers)
        sorted_rate = bare_sqlite(folder / "sorted.db", sorted(numbers))
        probe_rate = probes(folder / "sorted.db", numbers)

    api_rate, cli_rate = count / api_seconds, count / cli_seconds
    print(f"numbers:              {count:,} (national format with punctuation, scrambled order)")
    print(f"normalise() alone:    {normalise_rate:,.0f} numbers/s")
    print(f"CSV parser alone:     {parser_rate:,.0f} numbers/s (normalise included)")
    print(f"API upload:           {api_seconds:.2f} s, {api_rate:,.0f} numbers/s")
    print(f"gateway dnc import:   {cli_seconds:.2f} s, {cli_rate:,.0f} numbers/s (whole process)")
    print(f"in-process import:    {inproc_rate:,.0f} numbers/s; final move {commit_seconds:.2f} s")
    print(f"bare sqlite3:         {bare_rate:,.0f} numbers/s (executemany, file order)")
    print(f"bare sqlite3 sorted:  {sorted_rate:,.0f} numbers/s (executemany, sorted first)")
    print(
        f"ratio API/bare:       {api_rate / bare_rate:.2f} (sorted: {api_rate / sorted_rate:.2f})"
    )
    print(
        f"ratio CLI/bare:       {cli_rate / bare_rate:.2f} (sorted: {cli_rate / sorted_rate:.2f})"
    )
    print(f"daemon peak RSS:      {rss_peak:.0f} MB (at start {rss_before:.0f} MB)")
    print(f"listed_on() probes:   {probe_rate:,.0f}/s on the {count:,}-number list")


if __name__ == "__main__":
    main()
