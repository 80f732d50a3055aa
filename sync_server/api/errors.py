"""One table of exception handlers: every error leaves the server as an OperationOutcome.

Client errors carry their safe message; anything unexpected becomes a 500 with no details (the
traceback goes to the log, which never holds resource bodies).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sync_server.errors import ServerError
from sync_server.fhir.outcome import FHIR_JSON, operation_outcome

log = logging.getLogger("sync_server.errors")
_HTTP_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


def outcome_response(status: int, message: str, *, code: str = "invalid",
                     expression: str | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = operation_outcome(message, code=code, expression=expression)
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)


async def _server_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServerError)
    if exc.status >= 500:
        log.warning("server error %s: %s", exc.status, exc.message)
    return outcome_response(exc.status, exc.message, code=exc.code, expression=exc.expression,
                            headers=exc.headers)


async def _validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    where = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[:3]]
    return outcome_response(400, "invalid request: " + ", ".join(where))


async def _http(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    return outcome_response(exc.status_code, message,
                            code=_HTTP_CODES.get(exc.status_code, "invalid"),
                            headers=dict(exc.headers or {}))


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.error("unexpected %s", type(exc).__name__, exc_info=exc)
    return outcome_response(500, "internal error", code="exception")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServerError, _server_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
