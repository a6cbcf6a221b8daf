"""`client.dnc`: the tenant's do-not-call list (`/api/v1/dnc`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from gateway.client.aio import Contacts, _contacts_part

if TYPE_CHECKING:
    from gateway.client.aio import AsyncClient


class AsyncDnc:
    """`client.dnc` of an `AsyncClient`. Numbers may be written as contacts are; the
    server normalises them to E.164."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self,
        limit: int | None = None,
        offset: int | None = None,
        phone_number: str | None = None,
    ) -> dict[str, Any]:
        """`{"numbers": [{"phone_number", "reason", "created_at"}], "total": N}`, by
        number; with `phone_number`, only that number (an empty list if not listed)."""
        params = {"limit": limit, "offset": offset, "phone_number": phone_number}
        return await self._client.request("GET", "/dnc", params=params)

    async def add(self, numbers: Iterable[str], reason: str | None = None) -> dict[str, Any]:
        """Add numbers: `{"added": N, "already": M}`; a bad number adds none (BadRequestError
        with `row`, its 1-based position)."""
        if isinstance(numbers, str):
            raise TypeError("add() takes a list of numbers, not one string")
        body: dict[str, Any] = {"phone_numbers": list(numbers)}
        if reason is not None:
            body["reason"] = reason
        return await self._client.request("POST", "/dnc", data=aiohttp.JsonPayload(body))

    async def add_file(self, numbers: Contacts, reason: str | None = None) -> dict[str, Any]:
        """Add every number of a CSV with a phone_number column (a binary file, a path or
        bytes; streamed): `{"added": N, "already": M}`, or none of them on a bad row."""
        form = aiohttp.FormData()
        if reason is not None:
            form.add_field("reason", reason)
        payload, filename, opened = _contacts_part(numbers)
        try:
            form.add_field("numbers", payload, filename=filename, content_type="text/csv")
            return await self._client.request("POST", "/dnc", data=form)
        finally:
            if opened is not None:
                opened.close()

    async def remove(self, number: str) -> None:
        """Remove a number (NotFoundError if it is not on the list)."""
        await self._client.request("DELETE", "/dnc/" + quote(number, safe=""))
