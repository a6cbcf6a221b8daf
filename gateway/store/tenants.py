"""Tenants and their API keys."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from gateway.domain.keys import display_prefix, key_hash, new_key
from gateway.domain.model import Tenant
from gateway.domain.settings import format_time
from gateway.store.database import Database
from gateway.timeutil import utcnow


class TenantExists(Exception):
    pass


class UnknownTenant(Exception):
    pass


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    tenant: str
    prefix: str
    created_at: str
    revoked_at: str | None


def _tenant(row: sqlite3.Row) -> Tenant:
    return Tenant(
        id=row["id"],
        name=row["name"],
        max_concurrent_calls=row["max_concurrent_calls"],
        max_calls_per_second=row["max_calls_per_second"],
    )


class TenantStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, name: str, max_concurrent_calls: int, max_cps: float) -> Tenant:
        try:
            async with self._db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO tenants (name, max_concurrent_calls, max_calls_per_second,"
                    " created_at) VALUES (?, ?, ?, ?)",
                    (name, max_concurrent_calls, max_cps, format_time(utcnow())),
                )
                tenant_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            raise TenantExists(f"tenant {name!r} already exists") from None
        return Tenant(tenant_id or 0, name, max_concurrent_calls, max_cps)

    async def update_limits(
        self, name: str, max_concurrent_calls: int | None, max_cps: float | None
    ) -> Tenant:
        tenant = await self.by_name(name)
        changed = Tenant(
            tenant.id,
            tenant.name,
            max_concurrent_calls or tenant.max_concurrent_calls,
            max_cps or tenant.max_calls_per_second,
        )
        await self._db.execute(
            "UPDATE tenants SET max_concurrent_calls = ?, max_calls_per_second = ? WHERE id = ?",
            (changed.max_concurrent_calls, changed.max_calls_per_second, tenant.id),
        )
        return changed

    async def list(self) -> list[Tenant]:
        rows = await self._db.fetch_all("SELECT * FROM tenants ORDER BY name")
        return [_tenant(r) for r in rows]

    async def by_name(self, name: str) -> Tenant:
        row = await self._db.fetch_one("SELECT * FROM tenants WHERE name = ?", (name,))
        if row is None:
            raise UnknownTenant(f"no tenant named {name!r}")
        return _tenant(row)

    async def create_key(self, tenant_name: str) -> str:
        """A new key for the tenant. The key itself is returned once and never stored."""
        tenant = await self.by_name(tenant_name)
        key = new_key()
        await self._db.execute(
            "INSERT INTO api_keys (tenant_id, prefix, key_hash, created_at) VALUES (?, ?, ?, ?)",
            (tenant.id, display_prefix(key), key_hash(key), format_time(utcnow())),
        )
        return key

    async def revoke_key(self, key_or_prefix: str) -> int:
        """Revoke by the whole key or by the prefix shown in `keys list`. Returns how many."""
        revoked, _ = await self._db.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL"
            " AND (key_hash = ? OR prefix = ?)",
            (format_time(utcnow()), key_hash(key_or_prefix), key_or_prefix),
        )
        return revoked

    async def list_keys(self, tenant_name: str | None = None) -> list[ApiKeyInfo]:
        sql = (
            "SELECT k.id, t.name, k.prefix, k.created_at, k.revoked_at FROM api_keys k"
            " JOIN tenants t ON t.id = k.tenant_id"
        )
        params: tuple[str, ...] = ()
        if tenant_name is not None:
            sql += " WHERE t.name = ?"
            params = (tenant_name,)
        rows = await self._db.fetch_all(sql + " ORDER BY k.id", params)
        return [ApiKeyInfo(*tuple(r)) for r in rows]

    async def authenticate(self, key: str) -> Tenant | None:
        row = await self._db.fetch_one(
            "SELECT t.* FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
            " WHERE k.key_hash = ? AND k.revoked_at IS NULL",
            (key_hash(key),),
        )
        return None if row is None else _tenant(row)
