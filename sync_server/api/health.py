"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: the store answers
and its schema is at the newest migration)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from sync_server.api.deps import call, context
from sync_server.store import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    db = context(request).db

    def check() -> bool:
        return db.ping() and migrate.current_revision(db.engine) == migrate.head_revision()

    try:
        ready = await call(check)
    except Exception:  # noqa: BLE001 -- any failure here only means "not ready"
        ready = False
    return JSONResponse({"status": "ready" if ready else "not ready"},
                        status_code=200 if ready else 503)
