"""A CSV of do-not-call numbers streaming into a list, all or nothing.

Used by the API's upload (`POST /api/v1/dnc`, multipart) and by `gateway dnc import`.
Numbers are parsed and normalised in a worker thread, chunk by chunk (the event loop
gets the GIL back every few ms, so a large or slow-to-read list never stalls dialling or
the event streams), while the previous batch is written into a staging table in the
database's thread (SQLite runs without the GIL), so the two overlap; only a batch
being parsed and one being written are held, never the file. The staged numbers join
the list in one transaction at the end: bad input anywhere adds nothing.
"""

from __future__ import annotations

import asyncio

import structlog

from gateway.domain.dnc import FILE_FIELD, REASON_FIELD, CsvNumbers, DncInputError, parse_reason
from gateway.store.dnc import DncStaging, DncStore

log = structlog.get_logger(__name__)

BATCH_NUMBERS = 50_000


class DncImport:
    def __init__(
        self, store: DncStore, tenant_id: int, default_region: str, field: str = FILE_FIELD
    ) -> None:
        """`field`: what an error about the CSV names (the form field, or a file)."""
        self._store = store
        self._tenant_id = tenant_id
        self._field = field
        self._csv = CsvNumbers(default_region, field)
        self._batch: list[str] = []
        self._writing: asyncio.Task[None] | None = None
        self._staging: DncStaging | None = None
        self.form: dict[str, str] = {}
        self.saw_file = False

    @property
    def rows(self) -> int:
        """Numbers read so far (repeats included)."""
        return self._csv.rows

    async def begin(self) -> None:
        self._staging = await self._store.stage()

    def field(self, name: str, value: str) -> None:
        """A form field of the upload: only `reason`, once."""
        if name != REASON_FIELD:
            raise DncInputError(name[:40], "unknown field")
        if name in self.form:
            raise DncInputError(name, "given twice")
        self.form[name] = value

    async def feed(self, data: bytes) -> None:
        self.saw_file = True
        self._batch.extend(await asyncio.to_thread(self._csv.feed, data))
        if len(self._batch) >= BATCH_NUMBERS:
            await self._flush()

    async def finish(self, reason: str | None = None) -> tuple[int, int]:
        """(added, already). `reason`: the form's `reason` field if not given."""
        if not self.saw_file:
            raise DncInputError(self._field, f"a CSV file is required in the field {self._field!r}")
        reason = parse_reason(self.form.get(REASON_FIELD) if reason is None else reason)
        self._batch.extend(await asyncio.to_thread(self._csv.finish))
        await self._flush()
        await self._wait_writing()
        assert self._staging is not None
        result = await self._staging.commit(self._tenant_id, reason)
        self._staging = None  # moved and dropped (a failed commit leaves it to abort())
        return result

    async def abort(self) -> None:
        """Undo a failed or cancelled import: nothing of it is ever listed. (A staging
        table that cannot be dropped now, storage failing, is only ever read by commit()
        and goes with the connection.)"""
        if self._writing is not None:
            self._writing.cancel()
            await asyncio.gather(self._writing, return_exceptions=True)
        if self._staging is not None:
            staging, self._staging = self._staging, None
            try:
                await asyncio.shield(staging.discard())
            except Exception as exc:  # the error being raised says more; never listed anyway
                log.warning("dnc staging table not dropped", table=staging.table, error=str(exc))

    async def _flush(self) -> None:
        await self._wait_writing()
        if self._batch:
            assert self._staging is not None
            batch, self._batch = self._batch, []
            self._writing = asyncio.create_task(self._staging.write(batch))
            await asyncio.sleep(0)  # let it hand its job to the database thread now

    async def _wait_writing(self) -> None:
        if self._writing is not None:
            task, self._writing = self._writing, None
            await task
