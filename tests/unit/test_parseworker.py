"""The parse worker process gives the same batches, and the same first refusal, as
parsing in the event loop; a lost worker is replaced."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator

import pytest

from gateway.domain.batches import Batch, Ending
from gateway.domain.csvimport import CsvError
from gateway.parseworker import (
    LocalParser,
    Parser,
    ParseWorker,
    RemoteParser,
    WorkerStopped,
    _finish,
)

CHUNK = 64 * 1024


@pytest.fixture
async def worker() -> AsyncIterator[ParseWorker]:
    worker = ParseWorker(min_bytes=0)  # every upload goes to the worker
    yield worker
    worker.close()


def contacts(rows: int, bad_at: int | None = None) -> bytes:
    lines = ["phone_number,name,timezone"]
    for i in range(rows):
        number = (
            "+1 900 234 5678" if i == bad_at else f"+1 (415) {200 + i // 10000}-{i % 10000:04d}"
        )
        lines.append(f"{number},Ann {i},{'Europe/Paris' if i % 3 == 0 else ''}")
    return ("\n".join(lines) + "\n").encode()


async def run(parser: Parser, data: bytes) -> tuple[list[Batch], Ending]:
    batches = []
    for start in range(0, len(data), CHUNK):
        batches += await parser.feed(data[start : start + CHUNK])
    ending = await parser.finish()
    return batches + ending.batches, ending


def rows_of(batches: list[Batch]) -> list:
    return [row for batch in batches for row in json.loads(batch.rows_json)]


async def test_same_batches_as_in_the_event_loop(worker: ParseWorker) -> None:
    data = contacts(45000)  # three batches of rows, in 30 chunks
    parser = worker.parser("US", False, len(data))
    assert isinstance(parser, RemoteParser)
    remote, remote_end = await run(parser, data)
    local, local_end = await run(LocalParser("US", False), data)
    assert [b.row_numbers for b in remote] == [b.row_numbers for b in local]
    assert [b.rows_json for b in remote] == [b.rows_json for b in local]
    assert len(rows_of(remote)) == 45000 and len(remote) == 3
    assert remote_end.custom_field_names == local_end.custom_field_names == ["name", "timezone"]
    assert (
        remote_end.zone_sets == local_end.zone_sets == [("Europe/Paris",), ("America/Los_Angeles",)]
    )


async def test_the_first_refused_row_as_in_the_event_loop(worker: ParseWorker) -> None:
    data = contacts(30000, bad_at=25000)  # the premium-rate number is row 25002
    with pytest.raises(CsvError) as remote:
        await run(worker.parser("US", False, len(data)), data)
    with pytest.raises(CsvError) as local:
        await run(LocalParser("US", False), data)
    assert remote.value.row == local.value.row == 25002
    assert str(remote.value) == str(local.value)
    assert "row 25002: a premium-rate number" in str(remote.value)
    allowed, _ = await run(worker.parser("US", True, len(data)), data)  # the operator's say
    assert len(rows_of(allowed)) == 30000


async def test_uploads_interleaved_and_an_abandoned_one(worker: ParseWorker) -> None:
    one, two = contacts(3000), contacts(2000)
    first, second = worker.parser("US", False, 1), worker.parser("GB", False, 1)
    await first.feed(one[:CHUNK])
    await second.feed(two[:CHUNK])
    second.close()  # the request went away
    rest = await first.feed(one[CHUNK:])
    ending = await first.finish()
    assert len(rows_of(rest + ending.batches)) == 3000


async def test_small_uploads_stay_in_the_event_loop_unsized_ones_do_not() -> None:
    worker = ParseWorker()
    assert isinstance(worker.parser("US", False, 1000), LocalParser)
    # No Content-Length (chunked): it may be as large as the limit, so not in the loop.
    unsized = worker.parser("US", False, None)
    assert isinstance(unsized, RemoteParser)
    unsized.close()
    worker.close()


def test_finishing_an_upload_the_worker_does_not_know_asks_for_a_retry() -> None:
    """A worker replaced between an upload's chunks and its end has none of it: the
    upload fails with "try again", never ends with the rows of its last chunks only."""
    with pytest.raises(WorkerStopped, match="try the upload again"):
        _finish(987654321)


async def test_a_lost_worker_fails_its_upload_and_is_replaced(worker: ParseWorker) -> None:
    data = contacts(5000)
    parser = worker.parser("US", False, len(data))
    await parser.feed(data[:CHUNK])
    await parser.feed(data[CHUNK : 2 * CHUNK])  # the worker has taken the first chunk
    pool = worker._pool
    assert pool is not None
    for pid in list(pool._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerStopped):
        for start in range(2 * CHUNK, len(data), CHUNK):
            await parser.feed(data[start : start + CHUNK])
        await parser.finish()
    parser.close()
    replaced = worker.parser("US", False, len(data))
    assert isinstance(replaced, RemoteParser) and worker._pool is not pool
    batches, _ = await run(replaced, data)
    assert len(rows_of(batches)) == 5000
