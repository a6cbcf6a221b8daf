"""The store: one SQLite file, its parts by concern."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.domain.settings import format_time
from gateway.store.campaigns import CampaignStore
from gateway.store.contacts import ContactStore
from gateway.store.database import Database
from gateway.store.dnc import DncStore
from gateway.store.tenants import TenantStore
from gateway.timeutil import utcnow

PROBE_SECONDS = 1.0
PROBE_WAIT = 1.0  # a probe slower than this is reported as a failure (and kept running)


class SqliteStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.tenants = TenantStore(db)
        self.campaigns = CampaignStore(db)
        self.contacts = ContactStore(db)
        self.dnc = DncStore(db)
        self._probe: asyncio.Future[str] | None = None
        self._probe_at = 0.0
        self.probes = 0  # probes written (for tests)

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()

    async def writable(self) -> str:
        """ "" when the database file takes a write, else the problem. The probe (one row
        rewritten) runs at most once per `PROBE_SECONDS`; callers meanwhile share the last
        answer, and concurrent callers share one probe, so an unauthenticated /readyz
        cannot contend with the dialler for the write lock."""
        now = time.monotonic()
        probe = self._probe
        stale = probe is None or (probe.done() and now - self._probe_at >= PROBE_SECONDS)
        if stale or (probe is not None and probe.cancelled()):
            self._probe_at = now  # never two at once: a slow probe is waited on, not doubled
            probe = self._probe = asyncio.ensure_future(self._write_probe())
        assert probe is not None
        try:
            return await asyncio.wait_for(asyncio.shield(probe), PROBE_WAIT)
        except TimeoutError:
            return f"database not writable: no write went through within {PROBE_WAIT:g} s"

    async def _write_probe(self) -> str:
        self.probes += 1
        try:
            await self.db.execute(
                "INSERT OR REPLACE INTO health_probe (id, checked_at) VALUES (1, ?)",
                (format_time(utcnow()),),
            )
        except Exception as exc:  # readiness reports any failure as text
            return f"database not writable: {exc}"
        return ""
