"""The store: one SQLite file, its parts by concern."""

from __future__ import annotations

from pathlib import Path

from gateway.store.campaigns import CampaignStore
from gateway.store.database import Database
from gateway.store.tenants import TenantStore


class SqliteStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.tenants = TenantStore(db)
        self.campaigns = CampaignStore(db)

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()

    async def writable(self) -> str:
        """ "" when a write transaction goes through, else the problem."""
        try:
            async with self.db.transaction() as conn:
                await conn.execute("CREATE TEMP TABLE IF NOT EXISTS _probe (x)")
        except Exception as exc:  # readiness reports any failure as text
            return f"database not writable: {exc}"
        return ""
