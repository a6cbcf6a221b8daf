"""The tenant's do-not-call list: `GET`, `POST /api/v1/dnc`, `DELETE /api/v1/dnc/{number}`.

Each tenant sees and changes only its own list; the host's list (the operator's) is never
shown here. Numbers are normalised like contacts, with the configured default country."""

from __future__ import annotations

import json
from typing import Any

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
from gateway.domain.model import Tenant
from gateway.http.campaigns import paging
from gateway.http.errors import BadRequest, error_response
from gateway.http.keys import CONFIG, STORE, TENANT
from gateway.http.upload import stream_upload
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


@routes.get("/api/v1/dnc")
async def list_numbers(request: web.Request) -> web.Response:
    store, tenant = _store(request), _tenant(request)
    if PHONE_COLUMN in request.query:
        try:
            number = normalise_number(request.query[PHONE_COLUMN], _region(request))
        except DncInputError as exc:
            return _bad(exc)
        entry = await store.lookup(tenant.id, number)
        numbers = [] if entry is None else [entry.as_json()]
        return web.json_response({"numbers": numbers, "total": len(numbers)})
    limit, offset = paging(request)
    entries, total = await store.list(tenant.id, limit, offset)
    return web.json_response({"numbers": [e.as_json() for e in entries], "total": total})


@routes.post("/api/v1/dnc")
async def add_numbers(request: web.Request) -> web.Response:
    try:
        if request.content_type == "application/json":
            added, already = await _add_json(request)
        elif request.content_type == "multipart/form-data":
            added, already = await _add_csv(request)
        else:
            raise BadRequest(
                f'expected application/json {{"{JSON_FIELD}": [...], "reason": "..."}}'
                f" or multipart/form-data with a CSV in the file field {FILE_FIELD!r}"
            )
    except DncInputError as exc:
        return _bad(exc)
    except CsvError as exc:  # the upload's size limit
        return _bad(DncInputError(FILE_FIELD, str(exc)))
    log.info("dnc numbers added", added=added, already=already)
    return web.json_response({"added": added, "already": already})


async def _add_json(request: web.Request) -> tuple[int, int]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    numbers, reason = numbers_from_json(body, _region(request))
    return await _store(request).add(_tenant(request).id, numbers, reason)


async def _add_csv(request: web.Request) -> tuple[int, int]:
    importer = DncImport(_store(request), _tenant(request).id, _region(request))
    await importer.begin()
    try:
        await stream_upload(
            request.headers.get("Content-Type", ""),
            request.content,
            importer,
            request.app[CONFIG].max_upload_bytes,
            file_field=FILE_FIELD,
        )
        return await importer.finish()
    except BaseException:
        await importer.abort()
        raise


@routes.delete("/api/v1/dnc/{phone_number}")
async def remove_number(request: web.Request) -> web.Response:
    try:
        number = normalise_number(request.match_info["phone_number"], _region(request))
    except DncInputError as exc:
        return _bad(exc)
    if not await _store(request).remove(_tenant(request).id, number):
        return error_response(404, "number not on the do-not-call list")
    log.info("dnc number removed", phone_number=number)
    return web.Response(status=204)
