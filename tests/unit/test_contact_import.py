"""ContactImport batches: written by row count and by bytes, so wide rows are not held."""

from dataclasses import dataclass, field

from gateway.domain.model import Tenant
from gateway.domain.settings import Choices
from gateway.domain.variables import custom_variable, value_budget
from gateway.service import BATCH_ROWS, ContactImport
from gateway.store.campaigns import ImportBatch

COLUMNS = 50
WIDE_VALUE = "v" * value_budget(custom_variable("c00"))  # the longest value allowed


@dataclass
class RecordingStore:
    """The part of CampaignStore an import uses; records each batch written."""

    batches: list[int] = field(default_factory=list)  # rows per batch
    batch_bytes: list[int] = field(default_factory=list)  # value characters per batch

    async def begin_import(self, tenant_id: int, created_by: str) -> tuple[int, str]:
        return 1, "c"

    async def insert_contacts(self, pk: int, rows: list, listed: int) -> ImportBatch:
        self.batches.append(len(rows))
        self.batch_bytes.append(sum(len(v) for _, _, values, _ in rows for v in values))
        return ImportBatch(len(rows), [])

    async def finish_import(
        self, pk: int, settings: object, names: list, dups: int, zone_sets: list
    ) -> int:
        self.finished = True
        return 0


def new_import(store: RecordingStore) -> ContactImport:
    choices = Choices(frozenset({"a"}), frozenset({"p"}), "a", "p")
    importer = ContactImport(store, Tenant(1, "t", 1, 1), choices, "US")  # type: ignore[arg-type]
    importer.field("name", "wide")
    return importer


def wide_csv(rows: int) -> bytes:
    header = "phone_number," + ",".join(f"c{i:02d}" for i in range(COLUMNS)) + "\n"
    line = "," + ",".join([WIDE_VALUE] * COLUMNS) + "\n"
    body = "".join(f"+1415555{i:04d}{line}" for i in range(rows))
    return (header + body).encode()


async def feed_all(importer: ContactImport, data: bytes, chunk: int = 256 * 1024) -> None:
    await importer.begin()
    for start in range(0, len(data), chunk):
        await importer.feed(data[start : start + chunk])
    await importer.finish()


async def test_wide_rows_flush_by_bytes() -> None:
    store = RecordingStore()
    importer = new_import(store)
    data = wide_csv(400)  # 20 MB, far fewer rows than a row-count batch
    await feed_all(importer, data)
    assert sum(store.batches) == 400
    assert len(store.batches) > 1, "20 MB of rows held as one batch"
    budget = ContactImport.BATCH_BYTES
    assert len(store.batches) >= len(data) // budget
    # A batch stops at the first chunk that reaches the budget: at most one chunk over.
    assert max(store.batch_bytes) <= budget + 256 * 1024, store.batch_bytes


async def test_narrow_rows_still_flush_by_rows() -> None:
    store = RecordingStore()
    importer = new_import(store)
    rows = BATCH_ROWS * 2 + 10
    data = ("phone_number\n" + "".join(f"+1415{i:07d}\n" for i in range(rows))).encode()
    await feed_all(importer, data)
    assert sum(store.batches) == rows
    # Narrow rows stay far under the byte budget: batches are as large as before.
    assert len(store.batches) >= 2
    assert all(n >= BATCH_ROWS for n in store.batches[:-1]), store.batches
