"""Streaming CSV contact parser: bytes in, batches of validated rows out, nothing held whole.

Rows are numbered as lines of the file (the header is row 1), so an error names the line
an operator sees in an editor. A quoted value may not span lines: a line break inside a
value would be a control character, and control characters are refused everywhere.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from operator import itemgetter

from gateway.domain.phone import InvalidNumber, Reading, classify
from gateway.domain.variables import (
    MAX_VARIABLE_LINE_BYTES,
    custom_variable,
    value_budget,
    variable_line_bytes,
)
from gateway.domain.zones import UnknownZone, Zones, check_zone, zones_for

PHONE_COLUMN = "phone_number"
TIMEZONE_COLUMN = "timezone"  # optional; also kept as a custom field
# What a timezone value stands for, besides the index of its zones (None: the campaign's).
_UNSEEN = -2  # not met yet
_THE_NUMBERS = -1  # empty: the number's zones
MAX_CUSTOM_FIELDS = 50

# C0 and C1 control characters, DEL. A line's own CR before its LF is removed first.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

# (row number, E.164 number, custom values, index of its zones in zone_sets or None)
Row = tuple[int, str, tuple[str, ...], int | None]


class CsvError(ValueError):
    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(f"row {row}: {message}" if row is not None else message)
        self.message = message
        self.row = row

    def __reduce__(self) -> tuple[type[CsvError], tuple[str, int | None]]:
        return CsvError, (self.message, self.row)  # whole from a parse worker


class CsvContacts:
    """Feed it the upload's bytes in any chunking; it returns complete, validated rows."""

    def __init__(self, default_region: str, *, allow_premium: bool = False) -> None:
        self._region = default_region
        self._allow_premium = allow_premium  # costly numbers (phone.COSTLY), else a row error
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._tail = ""
        self._line = 0  # number of the last complete line consumed
        self._phone_index = -1
        self._columns = 0
        self._custom: Callable[[list[str]], tuple[str, ...]] = lambda fields: ()
        self._variables: list[str] = []  # channel variable of each custom value
        self._budgets: list[int] = []  # bytes its escaped value may take on the wire
        self._smallest_budget = 0
        self.custom_field_names: list[str] = []
        self._timezone_index = -1
        self._zone_of_column: dict[str, int | None] = {}  # a timezone value → what it means
        self._zone_index: dict[Zones, int] = {}
        self.zone_sets: list[Zones] = []  # the distinct zones of the contacts, by index
        self.header_seen = False
        self.rows = 0

    def feed(self, data: bytes) -> list[Row]:
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError as exc:
            row = self._line + 1 + data.count(b"\n", 0, max(exc.start, 0))
            raise CsvError("the file is not valid UTF-8", row) from None
        cut = text.rfind("\n")
        if cut < 0:
            self._tail += text
            if len(self._tail) > 1_000_000:
                raise CsvError("a line is longer than 1 MB", self._line + 1)
            return []
        block = self._tail + text[:cut]
        self._tail = text[cut + 1 :]
        return self._lines(block)

    def finish(self) -> list[Row]:
        try:
            text = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise CsvError("the file is not valid UTF-8", self._line + 1) from None
        block = self._tail + text
        self._tail = ""
        rows = self._lines(block) if block else []
        if not self.header_seen:
            raise CsvError("the file is empty: no header line with a phone_number column")
        if self.rows == 0 and not rows:
            raise CsvError("the file has a header but no contact rows")
        return rows

    def _lines(self, block: str) -> list[Row]:
        block = block.replace("\r\n", "\n")
        if block.endswith("\r"):
            block = block[:-1]
        bad = _CONTROL.search(block)
        if bad:
            row = self._line + block.count("\n", 0, bad.start()) + 1
            raise CsvError(f"control character {bad.group()!r} in a value (not allowed)", row)
        lines = block.split("\n")
        first = self._line + 1
        self._line += len(lines)
        try:
            parsed = list(csv.reader(lines, strict=True))
        except csv.Error as exc:
            raise CsvError(f"malformed CSV ({exc})", first) from None
        if len(parsed) != len(lines):
            row = next((first + i for i, line in enumerate(lines) if line.count('"') % 2), first)
            raise CsvError("a quoted value spans lines (line breaks are not allowed)", row)
        # No value is longer than its line, and an escaped character takes at most 2 bytes
        # (ASCII; str.isascii() costs nothing) or 4: the most bytes a value here can take.
        widest = max(map(len, lines)) * (2 if block.isascii() else 4)
        return list(self._rows(parsed, first, widest))

    def _rows(self, parsed: list[list[str]], first: int, widest: int) -> Iterator[Row]:
        """The hot loop of an upload (a million rows): keep the per-row work minimal."""
        columns = self._columns
        phone_index = self._phone_index
        custom = self._custom
        region = self._region
        allow_premium = self._allow_premium
        long_lines = widest > self._smallest_budget
        for number, fields in enumerate(parsed, first):
            if not fields or not "".join(fields).strip():
                continue  # blank line, or only separators and spaces
            if not self.header_seen:
                self._header(fields, number)
                columns, phone_index, custom = self._columns, self._phone_index, self._custom
                long_lines = widest > self._smallest_budget
                continue
            if len(fields) != columns:
                raise CsvError(f"{len(fields)} values but the header has {columns} columns", number)
            try:
                reading = classify(fields[phone_index], region, allow_premium=allow_premium)
            except InvalidNumber as exc:
                raise CsvError(str(exc), number) from None
            values = custom(fields)
            if long_lines:
                self._check_bytes(values, number)
            self.rows += 1
            yield number, reading[0], values, self._zones(fields, reading, number)

    def _zones(self, fields: list[str], reading: Reading, number: int) -> int | None:
        """The index of the contact's zones: its timezone column, else its number's;
        None when neither gives one, or the column says `Etc/Unknown` (the campaign's
        timezone applies)."""
        if self._timezone_index >= 0:
            name = fields[self._timezone_index]
            found = self._zone_of_column.get(name, _UNSEEN)
            if found == _UNSEEN:
                found = self._zone_of_column[name] = self._column_zone(name, number)
            if found != _THE_NUMBERS:
                return found
        return self._zones_of(reading)

    def _column_zone(self, name: str, number: int) -> int | None:
        if not name.strip():
            return _THE_NUMBERS  # an empty value: the number's zones
        try:
            zone = check_zone(name)
        except UnknownZone as exc:
            raise CsvError(str(exc), number) from None
        return None if zone is None else self._index((zone,))

    def _zones_of(self, reading: Reading) -> int | None:
        zones = zones_for(*reading)
        return self._index(zones) if zones else None

    def _index(self, zones: Zones) -> int:
        index = self._zone_index.get(zones)
        if index is None:
            index = self._zone_index[zones] = len(self.zone_sets)
            self.zone_sets.append(zones)
        return index

    def _header(self, fields: list[str], number: int) -> None:
        names = [f.strip() for f in fields]
        lowered = [n.lower() for n in names]
        if PHONE_COLUMN not in lowered:
            raise CsvError(
                f"the header has no {PHONE_COLUMN} column (columns: {', '.join(names)[:200]})",
                number,
            )
        self._phone_index = lowered.index(PHONE_COLUMN)
        if TIMEZONE_COLUMN in lowered:
            self._timezone_index = lowered.index(TIMEZONE_COLUMN)
        self._columns = len(names)
        custom = [(i, n) for i, n in enumerate(names) if i != self._phone_index and n]
        if len(custom) > MAX_CUSTOM_FIELDS:
            raise CsvError(f"more than {MAX_CUSTOM_FIELDS} columns", number)
        # Compared in upper case: the dialplan may not tell `Note` from `note`.
        seen: dict[str, str] = {}
        for _, name in custom:
            variable = custom_variable(name)
            other = seen.get(variable.upper())
            if other is not None:
                raise CsvError(
                    f"columns {other!r} and {name!r} would both become the channel variable "
                    f"{variable} (names keep letters, digits and _, at most 61 of them)",
                    number,
                )
            seen[variable.upper()] = name
        self._variables = [custom_variable(name) for _, name in custom]
        self._budgets = [value_budget(variable) for variable in self._variables]
        self._smallest_budget = min(self._budgets, default=MAX_VARIABLE_LINE_BYTES)
        indexes = [i for i, _ in custom]
        if len(indexes) > 1:
            self._custom = itemgetter(*indexes)
        elif indexes:
            self._custom = lambda fields, i=indexes[0]: (fields[i],)
        self.custom_field_names = [n for _, n in custom]
        self.header_seen = True

    def _check_bytes(self, values: tuple[str, ...], number: int) -> None:
        """Refuse a value whose `Variable:` line would not fit Asterisk's AMI line."""
        for value, variable, budget, column in zip(
            values, self._variables, self._budgets, self.custom_field_names, strict=True
        ):
            if len(value) * 4 <= budget:
                continue  # short whatever its characters
            size = variable_line_bytes(variable, value)
            if size > MAX_VARIABLE_LINE_BYTES:
                raise CsvError(
                    f"column {column!r}: the value is over the limit of "
                    f"{MAX_VARIABLE_LINE_BYTES} bytes for its AMI line "
                    f"(Variable: {variable}=..., {size} bytes in UTF-8 once escaped)",
                    number,
                )
