"""Uploads in progress, counted per tenant (`[http] max_uploads_per_tenant`).

Each upload (a campaign's CSV, a do-not-call list as CSV or JSON) holds a batch in
memory and takes its turn in the one parse worker (or a thread, for do-not-call lists),
so a tenant that opens many at once would slow every other tenant's and grow the
daemon's memory with each. One more than the limit is refused with 429 before a byte of
it is read; a refused upload changes nothing.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator


class TooManyUploads(Exception):
    pass


class UploadSlots:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: Counter[int] = Counter()

    def open_for(self, tenant_id: int) -> int:
        return self._open[tenant_id]

    @contextlib.contextmanager
    def hold(self, tenant_id: int) -> Iterator[None]:
        """One of the tenant's slots while the upload runs; TooManyUploads if none is free."""
        if self._open[tenant_id] >= self._limit:
            raise TooManyUploads(
                f"at most {self._limit} uploads at once per tenant:"
                " send this one again when one of them has finished"
            )
        self._open[tenant_id] += 1
        try:
            yield
        finally:
            self._open[tenant_id] -= 1
            if not self._open[tenant_id]:
                del self._open[tenant_id]
