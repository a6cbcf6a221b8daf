"""Do-not-call input → E.164 numbers: a JSON list or a streamed CSV, errors naming the row.

Numbers are read exactly as contacts are (`phone.normalise` with the same default
country), so a number listed in any writing matches the contact it stands for; but a list
takes a valid number of any type, even one no contact may have. A CSV
follows the contact upload's conventions: UTF-8 (BOM or not), CRLF or LF, rows numbered
as lines of the file (the header is row 1), control characters refused, a header with a
`phone_number` column; other columns are ignored. In a JSON list the row is the number's
1-based position.
"""

from __future__ import annotations

import codecs
import csv
import re
from typing import Any

from gateway.domain.phone import InvalidNumber, normalise

PHONE_COLUMN = "phone_number"
FILE_FIELD = "numbers"  # the multipart file field of a CSV upload
JSON_FIELD = "phone_numbers"
REASON_FIELD = "reason"
MAX_REASON = 200  # characters
MAX_LINE = 1_000_000  # characters a CSV line may take before it is refused

# C0 and C1 control characters, DEL: in a CSV block (its line breaks are the lines'; a
# line's own CR before its LF is removed first), and in a single value.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_CONTROL_IN_VALUE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DncInputError(ValueError):
    """Input that cannot be used; `field` and `row` (when there is one) say where."""

    def __init__(self, field: str, message: str, row: int | None = None) -> None:
        where = f"{field}: row {row}: " if row is not None else f"{field}: "
        super().__init__(where + message)
        self.field = field
        self.row = row


def parse_reason(value: Any, field: str = REASON_FIELD) -> str:
    """The reason as stored: text, trimmed, at most MAX_REASON characters; '' if none."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DncInputError(field, "must be a string")
    value = value.strip()
    if _CONTROL_IN_VALUE.search(value):
        raise DncInputError(field, "must not contain control characters")
    if len(value) > MAX_REASON:
        raise DncInputError(field, f"must be at most {MAX_REASON} characters")
    return value


def normalise_number(raw: Any, default_region: str, field: str = PHONE_COLUMN) -> str:
    """One number (a query or path parameter) in E.164, or DncInputError naming `field`.
    Any number libphonenumber calls valid may be listed, of any type (premium rate, pager,
    voicemail... whether a contact may have one is the operator's `allow_premium`, or
    never): a list never refuses a number it could protect."""
    if not isinstance(raw, str):
        raise DncInputError(field, "must be a string")
    if _CONTROL_IN_VALUE.search(raw):
        raise DncInputError(field, "must not contain control characters")
    try:
        return normalise(raw, default_region, any_type=True)
    except InvalidNumber as exc:
        raise DncInputError(field, str(exc)) from None


def numbers_from_json(body: Any, default_region: str) -> tuple[list[str], str]:
    """`{"phone_numbers": [...], "reason": "..."}` → (E.164 numbers in order, reason)."""
    if not isinstance(body, dict):
        raise DncInputError(JSON_FIELD, 'expected a JSON object {"phone_numbers": [...]}')
    unknown = sorted(set(body) - {JSON_FIELD, REASON_FIELD})
    if unknown:
        raise DncInputError(unknown[0][:40], "unknown field")
    raw = body.get(JSON_FIELD)
    if not isinstance(raw, list):
        raise DncInputError(JSON_FIELD, "is required: a list of phone numbers")
    if not raw:
        raise DncInputError(JSON_FIELD, "give at least one phone number")
    reason = parse_reason(body.get(REASON_FIELD))
    numbers = []
    for row, value in enumerate(raw, 1):
        if not isinstance(value, str):
            raise DncInputError(JSON_FIELD, "must be a string", row)
        if _CONTROL_IN_VALUE.search(value):
            raise DncInputError(JSON_FIELD, "control character in a number (not allowed)", row)
        try:
            numbers.append(normalise(value, default_region, any_type=True))
        except InvalidNumber as exc:
            raise DncInputError(JSON_FIELD, str(exc), row) from None
    return numbers, reason


class CsvNumbers:
    """Feed it a CSV's bytes in any chunking; it returns the normalised numbers of the
    complete lines seen so far. `rows` counts the numbers returned."""

    def __init__(self, default_region: str, field: str = FILE_FIELD) -> None:
        self._region = default_region
        self._field = field
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._tail = ""
        self._line = 0  # number of the last complete line consumed
        self._index = -1  # of the phone_number column
        self._columns = 0
        self.header_seen = False
        self.rows = 0

    def _error(self, message: str, row: int | None = None) -> DncInputError:
        return DncInputError(self._field, message, row)

    def feed(self, data: bytes) -> list[str]:
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError as exc:
            row = self._line + 1 + data.count(b"\n", 0, max(exc.start, 0))
            raise self._error("the file is not valid UTF-8", row) from None
        cut = text.rfind("\n")
        if cut < 0:
            self._tail += text
            if len(self._tail) > MAX_LINE:
                raise self._error("a line is longer than 1,000,000 characters", self._line + 1)
            return []
        block = self._tail + text[:cut]
        self._tail = text[cut + 1 :]
        return self._lines(block)

    def finish(self) -> list[str]:
        try:
            text = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise self._error("the file is not valid UTF-8", self._line + 1) from None
        block, self._tail = self._tail + text, ""
        numbers = self._lines(block) if block else []
        if not self.header_seen:
            raise self._error("the file is empty: no header line with a phone_number column")
        if self.rows == 0:
            raise self._error("the file has a header but no phone numbers")
        return numbers

    def _lines(self, block: str) -> list[str]:
        block = block.replace("\r\n", "\n")
        if block.endswith("\r"):
            block = block[:-1]
        bad = _CONTROL.search(block)
        if bad:
            row = self._line + block.count("\n", 0, bad.start()) + 1
            raise self._error(f"control character {bad.group()!r} in a value (not allowed)", row)
        lines = block.split("\n")
        first = self._line + 1
        self._line += len(lines)
        if not self.header_seen:
            first, lines = self._header(lines, first)
        if not lines:
            return []
        if self._columns == 1 and '"' not in block:
            numbers = self._plain(lines, first)  # the common file: one bare column
        else:
            numbers = self._quoted(lines, first)
        self.rows += len(numbers)
        return numbers

    def _header(self, lines: list[str], first: int) -> tuple[int, list[str]]:
        """Find the header (the first line that is not blank); the lines after it."""
        for at, line in enumerate(lines):
            if not line.replace(",", "").strip():
                continue
            number = first + at
            try:
                fields = next(csv.reader([line], strict=True))
            except csv.Error as exc:
                raise self._error(f"malformed CSV ({exc})", number) from None
            names = [f.strip().lower() for f in fields]
            if PHONE_COLUMN not in names:
                shown = ", ".join(f.strip() for f in fields)[:200]
                raise self._error(
                    f"the header has no {PHONE_COLUMN} column (columns: {shown})", number
                )
            self._index = names.index(PHONE_COLUMN)
            self._columns = len(names)
            self.header_seen = True
            return number + 1, lines[at + 1 :]
        return first + len(lines), []

    def _plain(self, lines: list[str], first: int) -> list[str]:
        """The hot loop of a million-number import: keep the per-line work minimal."""
        region = self._region
        numbers = []
        append = numbers.append
        try:
            for line in lines:
                if line:
                    append(normalise(line, region, any_type=True))
        except InvalidNumber:
            pass
        else:
            return numbers
        # A bad or blank-looking line: find which, the slow way.
        numbers = []
        for number, line in enumerate(lines, first):
            if not line.replace(",", "").strip():
                continue  # blank line, or only separators and spaces
            if "," in line:
                values = line.count(",") + 1
                raise self._error(f"{values} values but the header has 1 column", number)
            try:
                numbers.append(normalise(line, region, any_type=True))
            except InvalidNumber as exc:
                raise self._error(str(exc), number) from None
        return numbers

    def _quoted(self, lines: list[str], first: int) -> list[str]:
        try:
            parsed = list(csv.reader(lines, strict=True))
        except csv.Error as exc:
            raise self._error(f"malformed CSV ({exc})", first) from None
        if len(parsed) != len(lines):
            row = next((first + i for i, line in enumerate(lines) if line.count('"') % 2), first)
            raise self._error("a quoted value spans lines (line breaks are not allowed)", row)
        region, index, columns = self._region, self._index, self._columns
        numbers = []
        for number, fields in enumerate(parsed, first):
            if not fields or not "".join(fields).strip():
                continue  # blank line, or only separators and spaces
            if len(fields) != columns:
                raise self._error(
                    f"{len(fields)} values but the header has {columns} columns", number
                )
            try:
                numbers.append(normalise(fields[index], region, any_type=True))
            except InvalidNumber as exc:
                raise self._error(str(exc), number) from None
        return numbers
