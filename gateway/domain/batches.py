"""An upload's contacts as the store writes them: CsvContacts' rows in batches, each one
JSON array that SQLite walks in C (INSERT ... SELECT FROM json_each), with its row numbers.

A batch is cut when it reaches BATCH_ROWS rows or BATCH_BYTES bytes of CSV, whichever
comes first, so wide rows are held a few MB at a time, never the whole upload. The same
code runs in the event loop or in a parse worker process (gateway/parseworker.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gateway.domain.csvimport import CsvContacts, Row
from gateway.domain.zones import Zones

BATCH_ROWS = 20000
BATCH_BYTES = 4 * 1024 * 1024  # of CSV text: about the values' size, counted for free


@dataclass(frozen=True, slots=True)
class Batch:
    rows_json: str  # [[row number, E.164 number, [values...], zone set index or null], ...]
    row_numbers: list[int]


@dataclass(frozen=True, slots=True)
class Ending:
    """What finish() gives: the last batch (if any rows were left) and the upload's
    custom field names and distinct zone sets."""

    batches: list[Batch]
    custom_field_names: list[str]
    zone_sets: list[Zones]


def encode(rows: list[Row]) -> Batch:
    return Batch(json.dumps(rows, ensure_ascii=False), [row[0] for row in rows])


class CsvBatches:
    """Feed it the upload's bytes in any chunking; it returns the batches that are full."""

    def __init__(self, default_region: str, *, allow_premium: bool = False) -> None:
        self._csv = CsvContacts(default_region, allow_premium=allow_premium)
        self._rows: list[Row] = []
        self._bytes = 0

    def feed(self, data: bytes) -> list[Batch]:
        self._rows.extend(self._csv.feed(data))
        self._bytes += len(data)
        if len(self._rows) >= BATCH_ROWS or self._bytes >= BATCH_BYTES:
            return self._cut()
        return []

    def finish(self) -> Ending:
        self._rows.extend(self._csv.finish())
        return Ending(self._cut(), self._csv.custom_field_names, self._csv.zone_sets)

    def _cut(self) -> list[Batch]:
        rows, self._rows, self._bytes = self._rows, [], 0
        return [encode(rows)] if rows else []
