"""Request plumbing: the body size limit, the structured access log and the server audit chain.

The access log line has method, route template, status, duration and caller; never the query
string or a body (they can name a patient). Calls to the FHIR, sync and admin APIs, and every
attempt at the authentication doors (enrolment, admin sign-in, client tokens: granted, failed or
refused by the rate limit, with the account tried and the caller's address) are also appended to
the server's audit chain before the answer leaves; if that write fails the answer is replaced by
a 503, so no data leaves unaudited.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync_server.api.deps import ACCESS_KEY, AccessRecord, call, context
from sync_server.api.errors import outcome_response
from sync_server.audit import server_log
from sync_server.errors import PayloadTooLarge, ServerError
from sync_server.store.clock import now_instant

log = logging.getLogger("sync_server.access")
_AUDITED = ("/fhir", "/sync", "/admin", "/auth")
_NOT_AUDITED = ("/fhir/metadata",)


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with a 413, announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            response = outcome_response(413, f"the body exceeds {self.limit} bytes",
                                        code="too-costly")
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise PayloadTooLarge(f"the body exceeds {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


def _audited(path: str) -> bool:
    return path.startswith(_AUDITED) and not path.startswith(_NOT_AUDITED)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


async def access_middleware(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    record = AccessRecord()
    request.scope[ACCESS_KEY] = record
    started = time.perf_counter()
    request_id = str(uuid.uuid4())
    try:
        response = await call_next(request)
        status = response.status_code
    except Exception:
        _log_line(request, record, 500, started, request_id)
        raise
    if _audited(request.url.path):
        try:
            await call(server_log.append, context(request).db,
                       _audit_fields(request, record, status, request_id))
        except (ServerError, OSError, RuntimeError) as exc:
            log.error("server audit write failed: %s", type(exc).__name__)
            response = outcome_response(503, "the access log cannot be written; retry later",
                                        code="transient")
            status = 503
    response.headers["X-Request-Id"] = request_id
    _log_line(request, record, status, started, request_id)
    return response


def _audit_fields(request: Request, record: AccessRecord, status: int,
                  request_id: str) -> dict[str, Any]:
    who = record.principal
    return {
        "at": now_instant(), "request_id": request_id, "method": request.method,
        "route": _route(request.scope), "status": status,
        "actor": who.label if who else None, "clinic_id": who.clinic_id if who else None,
        "interaction": record.interaction, "resource_type": record.resource_type,
        "entities": record.entities[:1000],
        "query_params": sorted({k for k, _ in request.query_params.multi_items()})[:50],
        **record.detail,
    }


def _log_line(request: Request, record: AccessRecord, status: int, started: float,
              request_id: str) -> None:
    who = record.principal
    log.info(json.dumps({
        "event": "request", "request_id": request_id, "method": request.method,
        "route": _route(request.scope), "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "actor": who.label if who else None, "clinic_id": who.clinic_id if who else None,
    }, separators=(",", ":")))
