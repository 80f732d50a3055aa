"""The central admin API (bearer token from ``POST /admin/token``): clinics, enrolment codes,
devices and the audit check. The same operations exist as ``pms-sync-server admin`` commands.

A route that changes something writes its access entry in the change's own transaction
(``audited_change``): the entry failing undoes the change and answers a 503. The entry names
the target (clinic, device), never the enrolment code. As the command line's, an entry that
concerns a clinic (done, or refused: nothing changed) is also that clinic's AuditEvent.
"""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from sync_server.api.deps import AdminCaller, access, call, context, json_body
from sync_server.api.middleware import audited_change
from sync_server.audit.verify import verify_all
from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.errors import BadRequest

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/clinics")
async def clinics(request: Request, _who: AdminCaller) -> JSONResponse:
    rows = await call(tenancy.list_clinics, context(request).db)
    return JSONResponse({"clinics": [{"id": i, "name": n} for i, n in rows]})


@router.post("/clinics", status_code=201)
async def add_clinic(request: Request, _who: AdminCaller) -> JSONResponse:
    body = await json_body(request)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise BadRequest("name is required", expression="name")
    access(request).interaction = "clinic-add"
    clinic_id = await audited_change(request, 201, tenancy.add_clinic, context(request).db,
                                     name, made_as={"clinic_id": "clinic"})
    return JSONResponse({"id": clinic_id, "name": name.strip()}, status_code=201)


@router.post("/clinics/{clinic_id}/enrolment-codes", status_code=201)
async def enrolment_code(clinic_id: str, request: Request,
                         _who: AdminCaller) -> JSONResponse:
    ctx = context(request)
    record = access(request)
    record.interaction, record.detail = "enrolment-code-add", {"clinic": clinic_id[:64]}
    code = await audited_change(request, 201, auth.new_enrolment_code, ctx.db, clinic_id[:64],
                                ctx.settings.enrol_code_ttl_hours)
    return JSONResponse({"code": code, "expires_in_hours": ctx.settings.enrol_code_ttl_hours},
                        status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/clinics/{clinic_id}/devices")
async def devices(clinic_id: str, request: Request,
                  _who: AdminCaller) -> JSONResponse:
    rows = await call(tenancy.list_devices, context(request).db, clinic_id[:64])
    return JSONResponse({"devices": [dataclasses.asdict(d) for d in rows]})


@router.post("/devices/{device_id}/revoke")
async def revoke(device_id: str, request: Request,
                 _who: AdminCaller) -> JSONResponse:
    record = access(request)
    record.interaction, record.detail = "device-revoke", {"device": device_id[:64]}
    await audited_change(request, 200, tenancy.revoke_device, context(request).db,
                         device_id[:64])
    return JSONResponse({"id": device_id, "revoked": True})


@router.get("/audit/verify")
async def audit_verify(request: Request, _who: AdminCaller) -> JSONResponse:
    reports = await call(verify_all, context(request).db)
    return JSONResponse({"intact": all(r.problem is None for r in reports),
                         "chains": [dataclasses.asdict(r) for r in reports]})
