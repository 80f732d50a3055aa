"""FHIR R4 REST under ``/fhir``: capability, CRUD, history, search and Bundles.

Callers are devices (their clinic, read and write) and system clients (their clinic, within
scopes). Ids of another clinic are simply unknown here: 404, never 403.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sync_server.api.deps import ClinicCaller, access, call, context, json_body
from sync_server.auth.principal import Principal
from sync_server.errors import NotFound
from sync_server.fhir import interactions as fhir
from sync_server.fhir.bundles_out import history as history_bundle
from sync_server.fhir.bundles_out import searchset
from sync_server.fhir.capability import capability_statement
from sync_server.fhir.history_query import parse_history
from sync_server.fhir.outcome import FHIR_JSON
from sync_server.fhir.search_query import parse_search
from sync_server.fhir.transaction import process_bundle
from sync_server.store import resources as store
from sync_server.store.clock import parse_instant
from sync_server.store.db import Database
from sync_server.store.resources import ResourceWriter, Stored
from sync_server.store.search import search

router = APIRouter(prefix="/fhir", tags=["fhir"])


def base_url(request: Request) -> str:
    configured = context(request).settings.public_base_url
    root = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    return f"{root}/fhir"


def _fhir(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)


def _resource_response(request: Request, stored: Stored, status: int = 200) -> JSONResponse:
    headers = {"ETag": stored.etag,
               "Last-Modified": format_datetime(parse_instant(stored.last_updated), usegmt=True)}
    if status == 201 or request.method in ("PUT", "POST"):
        headers["Location"] = (f"{base_url(request)}/{stored.resource_type}/"
                               f"{stored.resource_id}/_history/{stored.version}")
    return _fhir(stored.resource, status, headers)


def _note(request: Request, interaction: str, resource_type: str | None,
          stored: list[Stored] | None = None) -> None:
    record = access(request)
    record.interaction, record.resource_type = interaction, resource_type
    record.entities = [f"{s.resource_type}/{s.resource_id}" for s in stored or []]


@router.get("/metadata")
async def metadata(request: Request) -> JSONResponse:
    return _fhir(capability_statement(base_url(request), context(request).version))


@router.post("")
async def bundle(request: Request, who: ClinicCaller) -> JSONResponse:
    _note(request, "transaction", "Bundle")
    body = await json_body(request)
    ctx = context(request)
    result = await call(process_bundle, ctx.db, who, body, base=base_url(request),
                        count_max=ctx.settings.search_count_max)
    access(request).entities = [e["response"]["location"].rsplit("/_history", 1)[0]
                                for e in result["entry"] if "location" in e["response"]]
    return _fhir(result)


@router.get("/_history")
async def system_history(request: Request,
                         who: ClinicCaller) -> JSONResponse:
    return await _history(request, who, None, None)


@router.get("/{resource_type}")
async def search_type(resource_type: str, request: Request,
                      who: ClinicCaller) -> JSONResponse:
    _note(request, "search-type", resource_type)
    fhir.check_storable_type(resource_type)
    who.require(resource_type, "read")
    ctx = context(request)
    pairs = request.query_params.multi_items()
    query = parse_search(resource_type, pairs, count_max=ctx.settings.search_count_max)

    def run() -> tuple[int, list[Stored]]:
        with ctx.db.read() as session:
            return search(session, str(who.clinic_id), resource_type, query)

    total, matches = await call(run)
    _note(request, "search-type", resource_type, matches)
    return _fhir(searchset(base_url(request), resource_type, pairs, offset=query.offset,
                           count=query.count, total=total, matches=matches))


@router.post("/{resource_type}")
async def create(resource_type: str, request: Request,
                 who: ClinicCaller) -> JSONResponse:
    _note(request, "create", resource_type)
    fhir.check_writable(resource_type)
    who.require(resource_type, "write")
    body = await json_body(request)
    ctx = context(request)

    def run() -> fhir.WriteResult:
        with ctx.db.write() as session:
            writer = ResourceWriter(session, str(who.clinic_id))
            return fhir.create(writer, resource_type, body,
                               if_none_exist=request.headers.get("if-none-exist"),
                               count_max=ctx.settings.search_count_max)

    result = await call(run)
    _note(request, "create", resource_type, [result.stored])
    return _resource_response(request, result.stored, result.status)


@router.get("/{resource_type}/_history")
async def type_history(resource_type: str, request: Request,
                       who: ClinicCaller) -> JSONResponse:
    return await _history(request, who, resource_type, None)


@router.get("/{resource_type}/{resource_id}")
async def read(resource_type: str, resource_id: str, request: Request,
               who: ClinicCaller) -> JSONResponse:
    _note(request, "read", resource_type)
    fhir.check_storable_type(resource_type)
    who.require(resource_type, "read")
    access(request).entities = [f"{resource_type}/{resource_id[:64]}"]
    stored = await call(_read, context(request).db, str(who.clinic_id), resource_type,
                        resource_id)
    return _resource_response(request, stored)


def _read(db: Database, clinic_id: str, resource_type: str, resource_id: str) -> Stored:
    with db.read() as session:
        return fhir.read(session, clinic_id, resource_type, resource_id)


@router.put("/{resource_type}/{resource_id}")
async def update(resource_type: str, resource_id: str, request: Request,
                 who: ClinicCaller) -> JSONResponse:
    _note(request, "update", resource_type)
    fhir.check_writable(resource_type)
    who.require(resource_type, "write")
    body = await json_body(request)
    db = context(request).db

    def run() -> fhir.WriteResult:
        with db.write() as session:
            writer = ResourceWriter(session, str(who.clinic_id))
            return fhir.update(writer, resource_type, resource_id, body,
                               if_match=request.headers.get("if-match"))

    result = await call(run)
    _note(request, "update", resource_type, [result.stored])
    return _resource_response(request, result.stored, result.status)


@router.delete("/{resource_type}/{resource_id}")
async def delete(resource_type: str, resource_id: str, request: Request,
                 who: ClinicCaller) -> Response:
    _note(request, "delete", resource_type)
    fhir.check_writable(resource_type)
    who.require(resource_type, "write")
    access(request).entities = [f"{resource_type}/{resource_id[:64]}"]
    db = context(request).db

    def run() -> Stored | None:
        with db.write() as session:
            writer = ResourceWriter(session, str(who.clinic_id))
            return fhir.delete(writer, resource_type, resource_id,
                               if_match=request.headers.get("if-match"))

    stored = await call(run)
    headers = {"ETag": stored.etag} if stored else {}
    return Response(status_code=204, headers=headers)


@router.get("/{resource_type}/{resource_id}/_history")
async def instance_history(resource_type: str, resource_id: str, request: Request,
                           who: ClinicCaller) -> JSONResponse:
    return await _history(request, who, resource_type, resource_id)


@router.get("/{resource_type}/{resource_id}/_history/{version}")
async def vread(resource_type: str, resource_id: str, version: str, request: Request,
                who: ClinicCaller) -> JSONResponse:
    _note(request, "vread", resource_type)
    fhir.check_storable_type(resource_type)
    who.require(resource_type, "read")
    access(request).entities = [f"{resource_type}/{resource_id[:64]}"]
    db = context(request).db

    def run() -> Stored:
        with db.read() as session:
            return fhir.vread(session, str(who.clinic_id), resource_type, resource_id, version)

    return _resource_response(request, await call(run))


async def _history(request: Request, who: Principal, resource_type: str | None,
                   resource_id: str | None) -> JSONResponse:
    interaction = ("history-instance" if resource_id else
                   "history-type" if resource_type else "history-system")
    _note(request, interaction, resource_type)
    if resource_type is not None:
        fhir.check_storable_type(resource_type)
        who.require(resource_type, "read")
    else:
        who.require("*", "read")
    if resource_id is not None:
        fhir.check_id(resource_id)
    ctx = context(request)
    pairs = request.query_params.multi_items()
    since, offset, count = parse_history(pairs, count_max=ctx.settings.search_count_max)

    def run() -> tuple[int, list[Stored]]:
        with ctx.db.read() as session:
            return store.history(session, str(who.clinic_id), resource_type=resource_type,
                                 resource_id=resource_id, since=since, offset=offset,
                                 count=count)

    total, versions = await call(run)
    if resource_id is not None and total == 0:
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    _note(request, interaction, resource_type, versions)
    path = "/".join(p for p in (resource_type, resource_id, "_history") if p)
    return _fhir(history_bundle(base_url(request), path, pairs, offset=offset, count=count,
                                total=total, versions=versions))
