"""Uploads' CSV parsed in a worker process, beside the event loop and SQLite's writes.

Reading each number exactly as libphonenumber does (gateway/domain/phone.py), its time
zones and the rest of CsvContacts' checks are most of an upload's CPU, and pure Python:
a thread would wait for the GIL. In a process of its own the parsing of one chunk runs on
the other core while the event loop reads the request and SQLite (in aiosqlite's thread,
without the GIL) writes the batch before. The worker hands back batches ready for the
store (gateway/domain/batches.py: JSON text and row numbers), so the loop neither parses
nor encodes a row.

One worker process serves every upload of the daemon, chunk by chunk in the order given;
it is started by the first large upload and stopped with the daemon. Uploads smaller than
WORKER_MIN_BYTES (by Content-Length) are parsed in the event loop: for them the hand-off
would cost more than it saves. One without a Content-Length (chunked) may be as large as
the upload limit, so it goes to the worker too. A refused row raises the same
CsvError either way, the first in file order, since the worker takes chunks in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

import structlog

from gateway.domain.batches import Batch, CsvBatches, Ending

log = structlog.get_logger(__name__)

WORKER_MIN_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


class Parser(Protocol):
    async def feed(self, data: bytes) -> list[Batch]: ...
    async def finish(self) -> Ending: ...
    def close(self) -> None: ...


class LocalParser:
    """CsvBatches in the event loop, behind the awaitable interface."""

    def __init__(self, region: str, allow_premium: bool) -> None:
        self._batches = CsvBatches(region, allow_premium=allow_premium)

    async def feed(self, data: bytes) -> list[Batch]:
        return self._batches.feed(data)

    async def finish(self) -> Ending:
        return self._batches.finish()

    def close(self) -> None:
        pass


class WorkerStopped(RuntimeError):
    pass


class RemoteParser:
    """CsvBatches in the worker. One chunk is in flight while the loop reads the next:
    feed() returns the batches of the chunk fed before it (finish() the rest)."""

    def __init__(self, worker: ParseWorker, key: int, opened: asyncio.Future[None]) -> None:
        self._worker = worker
        self._key = key
        self._pending: asyncio.Future[Any] | None = opened
        self._closed = False

    async def feed(self, data: bytes) -> list[Batch]:
        previous, self._pending = self._pending, self._worker.submit(_feed, self._key, data)
        return (await self._result(previous)) or []

    async def finish(self) -> Ending:
        previous, self._pending = self._pending, None
        batches = (await self._result(previous)) or []
        ending: Ending = await self._result(self._worker.submit(_finish, self._key))
        self._closed = True  # the worker has let go of it
        return Ending(batches + ending.batches, ending.custom_field_names, ending.zone_sets)

    def close(self) -> None:
        """After an error (ours or the request's): the worker forgets this upload."""
        if self._pending is not None:  # its outcome no longer matters
            self._pending.add_done_callback(_ignore)
            self._pending = None
        if not self._closed:
            self._closed = True
            with contextlib.suppress(WorkerStopped):
                self._worker.submit(_drop, self._key).add_done_callback(_ignore)

    async def _result(self, future: asyncio.Future[T] | None) -> T | None:
        if future is None:
            return None
        try:
            return await future
        except BrokenProcessPool:
            self._worker.reset()
            raise WorkerStopped("the CSV parse worker stopped; try the upload again") from None


class ParseWorker:
    """The daemon's parse worker process (at most one), made on demand."""

    def __init__(self, min_bytes: int = WORKER_MIN_BYTES) -> None:
        self.min_bytes = min_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._keys = itertools.count(1)
        self._closed = False

    def parser(self, region: str, allow_premium: bool, size: int | None) -> Parser:
        """Where an upload of `size` bytes is parsed. None (chunked, no Content-Length)
        may be as large as the upload limit: the worker, so a tenant cannot hold the event
        loop (and the AMI connection it serves) with a large body of unknown length."""
        if self._closed or (size is not None and size < self.min_bytes):
            return LocalParser(region, allow_premium)
        key = next(self._keys)
        try:
            opened = self.submit(_open, key, region, allow_premium)
        except WorkerStopped:
            log.warning("parse worker unavailable: parsing in the event loop")
            return LocalParser(region, allow_premium)
        return RemoteParser(self, key, opened)

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        if self._closed:
            raise WorkerStopped("the daemon is stopping")
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,  # one process: chunks are parsed in the order given
                mp_context=multiprocessing.get_context("spawn"),  # not a fork of threads
                initializer=_ignore_interrupts,
            )
            log.info("parse worker started")
        try:
            future: Future[T] = self._pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError) as exc:
            self.reset()
            raise WorkerStopped(f"the CSV parse worker stopped: {exc}") from None
        return asyncio.wrap_future(future)

    def reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            log.warning("parse worker lost: the next large upload starts another")
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker (the uploads still using it fail)."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _ignore(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: nothing to report


# In the worker process: the uploads being parsed, by key.

_PARSERS: dict[int, CsvBatches] = {}


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the daemon, which stops us


def _open(key: int, region: str, allow_premium: bool) -> None:
    _PARSERS[key] = CsvBatches(region, allow_premium=allow_premium)


def _feed(key: int, data: bytes) -> list[Batch]:
    parser = _PARSERS.get(key)
    if parser is None:  # refused at an earlier chunk, or dropped; or a new process, which
        return []  # _finish then refuses
    try:
        return parser.feed(data)
    except BaseException:
        del _PARSERS[key]
        raise


def _finish(key: int) -> Ending:
    parser = _PARSERS.pop(key, None)
    if parser is None:  # this process is a new one: the upload's earlier chunks are gone
        raise WorkerStopped("the CSV parse worker restarted; try the upload again")
    return parser.finish()


def _drop(key: int) -> None:
    _PARSERS.pop(key, None)
