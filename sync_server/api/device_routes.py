"""Routes a device calls about itself with its own credential: its name.

``PUT /sync/devices/{id}/name`` ``{"name": "Reception 1"}``: the workstation's new name, sent
with its next sync after a clinic admin renamed it. A device renames only itself (403
otherwise); the access record puts the old and new names in the server's audit chain.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from sync_server.api.deps import DeviceCaller, access, call, context, json_body
from sync_server.auth import device_names
from sync_server.errors import Forbidden

router = APIRouter(prefix="/sync", tags=["sync"])


@router.put("/devices/{device_id}/name")
async def rename_device(device_id: str, request: Request, who: DeviceCaller) -> JSONResponse:
    record = access(request)
    record.interaction = "device-rename"
    record.detail = {"device": device_id[:64]}
    if device_id != who.id:
        raise Forbidden("a device may rename only itself")
    body = await json_body(request)
    name = body.get("name") if isinstance(body, dict) else None
    done = await call(device_names.rename_device, context(request).db, who.id, name)
    record.detail.update(old_name=done.old_name, name=done.name)
    return JSONResponse({"id": done.device_id, "name": done.name})
