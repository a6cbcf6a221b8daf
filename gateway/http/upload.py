"""Streaming multipart/form-data: form fields and the `contacts` CSV, never held whole.
(`POST /api/v1/dnc` streams its `numbers` CSV through the same code.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web
from python_multipart.multipart import MultipartParser, parse_options_header

from gateway.domain.csvimport import CsvError
from gateway.http.errors import BadRequest
from gateway.http.keys import CONFIG, UPLOADS

FILE_FIELD = "contacts"
MAX_FIELD_BYTES = 16 * 1024
READ_CHUNK = 256 * 1024


class Importer(Protocol):
    """What an upload streams into (`ContactImport`, `DncImport`)."""

    saw_file: bool

    def field(self, name: str, value: str) -> None: ...

    async def feed(self, data: bytes) -> None: ...


T_co = TypeVar("T_co", covariant=True)


class Upload(Importer, Protocol[T_co]):
    """An importer with its all-or-nothing ends: staged at begin(), kept at finish(),
    dropped at abort() (also when begin() failed or never ran)."""

    async def begin(self) -> None: ...

    async def finish(self) -> T_co: ...

    async def abort(self) -> None: ...


U = TypeVar("U", bound=Upload[Any])


async def receive_upload(
    request: web.Request,
    new_importer: Callable[[], U],
    tenant_id: int,
    file_field: str = FILE_FIELD,
) -> tuple[U, Any]:
    """The request's multipart body streamed into an importer made by `new_importer`, in
    one of the tenant's upload slots (TooManyUploads, a 429, when none is free): the
    importer and what its finish() gave, or, on any error or a client gone, its abort()
    and the error. The importer is made only once the slot is held: a refused upload
    opens nothing (a parser in the parse worker, which every tenant shares)."""
    with request.app[UPLOADS].hold(tenant_id):
        importer = new_importer()
        try:
            await importer.begin()
            await stream_upload(
                request.headers.get("Content-Type", ""),
                request.content,
                importer,
                request.app[CONFIG].max_upload_bytes,
                file_field=file_field,
            )
            return importer, await importer.finish()
        except BaseException:
            await importer.abort()
            raise


class _Parts:
    """python-multipart callbacks are synchronous: collect what they see, act after."""

    def __init__(self, file_field: str = FILE_FIELD) -> None:
        self.file_field = file_field
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name: str | None = None
        self.is_file = False
        self.field_value = bytearray()
        self.file_data: list[bytes] = []
        self.fields: list[tuple[str, str]] = []
        self.files_seen = 0
        self.ended = False
        self.error: str | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value_cb,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.headers, self.name, self.is_file = {}, None, False
        self.field_value = bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name, self.header_value = b"", b""

    def headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        raw = params.get(b"name")
        if raw is None:
            self.error = "a form part has no name"
            return
        self.name = raw.decode("utf-8", "replace")
        self.is_file = self.name == self.file_field
        if self.is_file:
            self.files_seen += 1
            if self.files_seen > 1:
                self.error = f"the field {self.file_field!r} is given twice"

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.file_data.append(data[start:end])
        else:
            self.field_value += data[start:end]
            if len(self.field_value) > MAX_FIELD_BYTES:
                self.error = f"form field {self.name!r} is longer than {MAX_FIELD_BYTES} bytes"

    def part_end(self) -> None:
        if self.name is not None and not self.is_file:
            try:
                value = self.field_value.decode("utf-8")
            except UnicodeDecodeError:
                self.error = f"form field {self.name!r} is not valid UTF-8"
                return
            self.fields.append((self.name, value))
        self.is_file = False

    def end(self) -> None:
        self.ended = True


async def stream_upload(
    content_type: str,
    content,
    importer: Importer,
    max_bytes: int,  # type: ignore[no-untyped-def]
    file_field: str = FILE_FIELD,
) -> None:
    """Feed the body (an aiohttp StreamReader) into the importer, field by field."""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest(
            f"expected a multipart/form-data body with the CSV in the file field {file_field!r}"
        )
    parts = _Parts(file_field)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    received = 0
    async for chunk in content.iter_chunked(READ_CHUNK):
        received += len(chunk)
        if received > max_bytes:
            raise CsvError(f"the upload is larger than the limit of {max_bytes} bytes")
        try:
            parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own error types
            raise BadRequest(f"malformed multipart body: {exc}") from None
        await _drain(parts, importer)
    parser.finalize()
    await _drain(parts, importer)
    if not parts.ended:
        raise BadRequest("the multipart body is incomplete (no closing boundary)")


async def _drain(parts: _Parts, importer: Importer) -> None:
    if parts.error:
        raise BadRequest(parts.error)
    if parts.files_seen:
        importer.saw_file = True  # an empty file is "empty", not "missing"
    for name, value in parts.fields:
        importer.field(name, value)
    parts.fields.clear()
    if parts.file_data:
        data = b"".join(parts.file_data)
        parts.file_data.clear()
        await importer.feed(data)
