"""The sync API for enrolled devices: push, pull, digest and the audit log upload.

Every route is scoped to the calling device's clinic; shapes are in ``docs/sync-protocol.md``.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from sync_server.api.deps import DeviceCaller, access, call, context, json_body
from sync_server.audit import device_log
from sync_server.errors import BadRequest
from sync_server.sync import digest, pull, push

router = APIRouter(prefix="/sync", tags=["sync"])


@router.post("/push")
async def push_changes(request: Request, who: DeviceCaller) -> JSONResponse:
    access(request).interaction = "sync-push"
    body = await json_body(request)
    ctx = context(request)
    result = await call(push.push, ctx.db, who, body, max_changes=ctx.settings.max_push_changes)
    access(request).entities = [f"{r['resource_type']}/{r['resource_id']}"
                                for r in result["results"] if r["status"] == "applied"]
    return JSONResponse(result)


@router.get("/pull")
async def pull_changes(request: Request, who: DeviceCaller, cursor: str | None = None,
                       limit: str | None = None) -> JSONResponse:
    access(request).interaction = "sync-pull"
    ctx = context(request)
    position, size = pull.parse_paging(cursor, limit, limit_max=ctx.settings.pull_limit_max)
    result = await call(pull.pull, ctx.db, str(who.clinic_id), cursor=position, limit=size)
    access(request).detail = {"cursor": position, "next_cursor": result["next_cursor"],
                              "changes": len(result["changes"])}
    return JSONResponse(result)


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
