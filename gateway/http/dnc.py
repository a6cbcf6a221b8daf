"""The tenant's do-not-call list: `GET`, `POST /api/v1/dnc`, `DELETE /api/v1/dnc/{number}`.

Each tenant sees and changes only its own list; the host's list (the operator's) is never
shown here. Numbers are normalised like contacts, with the configured default country.

A number that cannot be read, but is written as `+` and 6-15 digits, is looked up and
removed as that exact text (an entry an older number reader listed; see dnc_legacy).
`?phone_number=` is read with a literal `+` kept a `+` (`?phone_number=+44...`), not
turned into a space as a form would (that reading is tried too, after)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, unquote_plus

import structlog
from aiohttp import web

from gateway.dnc_import import DncImport
from gateway.domain.csvimport import CsvError
from gateway.domain.dnc import (
    FILE_FIELD,
    JSON_FIELD,
    PHONE_COLUMN,
    DncInputError,
    normalise_number,
    numbers_from_json,
)
from gateway.domain.dnc_legacy import also_stored, stored_text
from gateway.domain.model import Tenant
from gateway.http.campaigns import paging
from gateway.http.errors import BadRequest, error_response
from gateway.http.keys import CONFIG, STORE, TENANT, UPLOADS
from gateway.http.upload import receive_upload
from gateway.store.dnc import DncStore

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


def _store(request: web.Request) -> DncStore:
    return request.app[STORE].dnc


def _tenant(request: web.Request) -> Tenant:
    return request[TENANT]


def _region(request: web.Request) -> str:
    return request.app[CONFIG].default_country


def _bad(exc: DncInputError) -> web.Response:
    extra: dict[str, Any] = {"field": exc.field}
    if exc.row is not None:
        extra["row"] = exc.row
    return error_response(400, str(exc), **extra)


# Bodies other than JSON and multipart that are still read as JSON when they parse as a
# JSON object: what `curl -d` sends (form-urlencoded), text, and no Content-Type at all.
_JSON_TOO = frozenset({"application/x-www-form-urlencoded", "text/plain"})


def _query_number(request: web.Request) -> list[str]:
    """The `phone_number` query value's readings, most likely first: percent-decoded with
    a literal `+` kept (the number's plus); a leading `+` kept, the rest as a form decodes
    it (`+` a space: `+44+20+7946+0958`); all of it as a form decodes it."""
    form = request.query[PHONE_COLUMN]
    for part in request.rel_url.raw_query_string.split("&"):
        name, _, value = part.partition("=")
        if unquote_plus(name) == PHONE_COLUMN:
            readings = [unquote(value)]
            if value.startswith("+"):
                readings.append("+" + unquote_plus(value[1:]))
            readings.append(form)
            return list(dict.fromkeys(readings))
    return [form]


async def _lookup(request: web.Request) -> web.Response:
    store, tenant, region = _store(request), _tenant(request), _region(request)
    readings = _query_number(request)
    number = error = None
    for raw in readings:
        try:
            number = normalise_number(raw, region)
            break
        except DncInputError as exc:
            error = error or exc
    if number is None:
        number = next((t for t in map(stored_text, readings) if t is not None), None)
        if number is None:
            assert error is not None
            return _bad(error)
    entry = await store.lookup(tenant.id, number)
    numbers = [] if entry is None else [entry.as_json()]
    return web.json_response({"numbers": numbers, "total": len(numbers)})


@routes.get("/api/v1/dnc")
async def list_numbers(request: web.Request) -> web.Response:
    if PHONE_COLUMN in request.query:
        return await _lookup(request)
    limit, offset = paging(request)
    entries, total = await _store(request).list(_tenant(request).id, limit, offset)
    return web.json_response({"numbers": [e.as_json() for e in entries], "total": total})


def _expected() -> BadRequest:
    return BadRequest(
        f'expected application/json {{"{JSON_FIELD}": [...], "reason": "..."}}'
        f" or multipart/form-data with a CSV in the file field {FILE_FIELD!r}"
    )


@routes.post("/api/v1/dnc")
async def add_numbers(request: web.Request) -> web.Response:
    try:
        if request.content_type == "application/json":
            added, already = await _add_json(request)
        elif request.content_type == "multipart/form-data":
            added, already = await _add_csv(request)
        elif request.content_type in _JSON_TOO or "Content-Type" not in request.headers:
            added, already = await _add_json(request, strict=False)
        else:
            raise _expected()
    except DncInputError as exc:
        return _bad(exc)
    except CsvError as exc:  # the upload's size limit
        return _bad(DncInputError(FILE_FIELD, str(exc)))
    log.info("dnc numbers added", added=added, already=already)
    return web.json_response({"added": added, "already": already})


async def _add_json(request: web.Request, strict: bool = True) -> tuple[int, int]:
    """A JSON body; not `strict` (not sent as JSON): read only if it is a JSON object.
    It takes one of the tenant's upload slots like a CSV: up to 1 MiB of numbers, parsed
    in the threads every tenant's uploads share."""
    with request.app[UPLOADS].hold(_tenant(request).id):
        return await _read_json(request, strict)


async def _read_json(request: web.Request, strict: bool) -> tuple[int, int]:
    raw = await request.read()  # at most client_max_size (1 MiB)
    try:
        body = await asyncio.to_thread(json.loads, raw)
    except (ValueError, UnicodeDecodeError):
        raise (BadRequest("the body is not valid JSON") if strict else _expected()) from None
    if not strict and not isinstance(body, dict):
        raise _expected()
    # Normalised in a thread: a body of numbers that take libphonenumber's slow path
    # costs ~0.7 s of CPU, which the event loop must not spend in one piece.
    numbers, reason = await asyncio.to_thread(numbers_from_json, body, _region(request))
    return await _store(request).add(_tenant(request).id, numbers, reason)


async def _add_csv(request: web.Request) -> tuple[int, int]:
    tenant_id, store, region = _tenant(request).id, _store(request), _region(request)
    _, result = await receive_upload(
        request, lambda: DncImport(store, tenant_id, region), tenant_id, file_field=FILE_FIELD
    )
    return result


@routes.delete("/api/v1/dnc/{phone_number}")
async def remove_number(request: web.Request) -> web.Response:
    store, tenant = _store(request), _tenant(request)
    raw = request.match_info["phone_number"]
    try:
        number = normalise_number(raw, _region(request))
    except DncInputError as exc:
        # Not a number today: an entry an older reader listed may still be written so.
        number = stored_text(raw) or ""
        if not number or not await store.remove(tenant.id, number):
            why = str(exc).removeprefix(f"{exc.field}: ")
            return error_response(404, f"not on the do-not-call list: {why}", field=exc.field)
    else:
        if not await store.remove(tenant.id, number, *also_stored(raw, number)):
            return error_response(404, "number not on the do-not-call list")
    log.info("dnc number removed", phone_number=number)
    return web.Response(status=204)
