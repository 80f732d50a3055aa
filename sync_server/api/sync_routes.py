"""The sync API for enrolled devices: push, pull, digest, the audit log upload, the clinic key
mailbox and the read of one current resource (sync-only staff accounts included).

Every route is scoped to the calling device's clinic; shapes are in ``docs/sync-protocol.md``.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sync_server.api.deps import DeviceCaller, access, call, context, json_body
from sync_server.audit import device_log
from sync_server.errors import BadRequest, Gone, NotFound
from sync_server.fhir.validate import check_id, check_storable_type
from sync_server.store import resources as store
from sync_server.store.db import Database
from sync_server.sync import clinic_key, digest, pull, push

router = APIRouter(prefix="/sync", tags=["sync"])


@router.post("/push")
async def push_changes(request: Request, who: DeviceCaller) -> Response:
    access(request).interaction = "sync-push"
    body = await json_body(request)
    ctx = context(request)
    # In turn, a few at a time, a clinic's one after the other (docs/server.md, "push_slots").
    result = await ctx.push_slots.run(push.push, ctx.db, who, body,
                                      max_changes=ctx.settings.max_push_changes,
                                      one_at_a_time=str(who.clinic_id))
    access(request).entities = [f"{r['resource_type']}/{r['resource_id']}"
                                for r in result["results"] if r["status"] == "applied"]
    # orjson (store.dumps): the same JSON as JSONResponse writes, several times faster for
    # a hundred results.
    return Response(store.dumps(result).encode("utf-8"), media_type="application/json")


@router.get("/pull")
async def pull_changes(request: Request, who: DeviceCaller, cursor: str | None = None,
                       limit: str | None = None) -> Response:
    access(request).interaction = "sync-pull"
    ctx = context(request)
    position, size = pull.parse_paging(cursor, limit, limit_max=ctx.settings.pull_limit_max)
    page = await call(pull.pull, ctx.db, str(who.clinic_id), cursor=position, limit=size)
    access(request).detail = {"cursor": position, "next_cursor": page.next_cursor,
                              "changes": page.count}
    return Response(page.body, media_type="application/json")


@router.get("/digest")
async def clinic_digest(request: Request, who: DeviceCaller) -> JSONResponse:
    access(request).interaction = "sync-digest"
    return JSONResponse(await call(digest.clinic_digest, context(request).db,
                                   str(who.clinic_id)))


@router.get("/digest/{resource_type}")
async def type_digest(resource_type: str, request: Request, who: DeviceCaller,
                      after: str | None = None, limit: str | None = None) -> JSONResponse:
    access(request).interaction = "sync-digest"
    ctx = context(request)
    if limit is not None and (not limit.isdigit() or not 0 < int(limit[:9]) <= 100_000):
        raise BadRequest("limit must be an integer in 1..100000")
    size = int(limit) if limit else 10_000
    return JSONResponse(await call(digest.type_digest, ctx.db, str(who.clinic_id),
                                   resource_type, after=after, limit=size))


@router.post("/audit")
async def upload_audit(request: Request, who: DeviceCaller) -> JSONResponse:
    access(request).interaction = "audit-upload"
    body = await json_body(request)
    ctx = context(request)
    result = await call(device_log.upload, ctx.db, who, body,
                        max_entries=ctx.settings.max_audit_entries)
    access(request).detail = {"accepted": result["accepted"]}
    return JSONResponse(result)


@router.get("/clinic-key")
async def get_clinic_key(request: Request, who: DeviceCaller) -> JSONResponse:
    access(request).interaction = "clinic-key-read"
    stored = await call(clinic_key.get, context(request).db, str(who.clinic_id))
    return JSONResponse(stored, headers={"ETag": clinic_key.etag(stored)})


@router.put("/clinic-key")
async def put_clinic_key(request: Request, who: DeviceCaller) -> JSONResponse:
    access(request).interaction = "clinic-key-write"
    body = await json_body(request)
    stored, created = await call(clinic_key.put, context(request).db, who, body,
                                 if_match=request.headers.get("if-match"))
    access(request).detail = {"key_id": stored["key_id"], "created": created}
    return JSONResponse(stored, status_code=201 if created else 200,
                        headers={"ETag": clinic_key.etag(stored)})


@router.get("/resource/{resource_type}/{resource_id}")
async def read_resource(resource_type: str, resource_id: str, request: Request,
                        who: DeviceCaller) -> JSONResponse:
    """The current version for drift repair: like a FHIR read, sync-only resources included."""
    access(request).interaction = "sync-read"
    check_storable_type(resource_type)
    check_id(resource_id)
    access(request).entities = [f"{resource_type}/{resource_id}"]
    stored = await call(_current, context(request).db, str(who.clinic_id), resource_type,
                        resource_id)
    return JSONResponse(stored.resource, headers={"ETag": stored.etag})


def _current(db: Database, clinic_id: str, resource_type: str,
             resource_id: str) -> store.Stored:
    with db.read() as session:
        current = store.get_current(session, clinic_id, resource_type, resource_id)
    if current is None:
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    if current.deleted:
        raise Gone(f"{resource_type}/{resource_id} was deleted")
    return current
