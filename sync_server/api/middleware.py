"""Request plumbing: the body size limit, the structured access log and the server audit chain.

The access log line has method, route template, status, duration and caller; never the query
string or a body (they can name a patient). Calls to the FHIR, sync and admin APIs, and every
attempt at the authentication doors (enrolment, admin sign-in, client tokens: granted, failed or
refused by the rate limit, with the account tried and the caller's address) are also appended to
the server's audit chain before the answer leaves: the answer's first message is held until its
entry is committed, and if that write fails the answer is replaced by a 503, so no data leaves
unaudited.

Both are plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` ran every request through a
task group and a memory stream). The chain entries of requests that finish while one write is
under way are written together in the next transaction (``ChainWriter``: one commit for all of
them, in the order they finished); a request alone is written at once.

A route that changes something (the admin API's) writes its entry inside the change's own
transaction instead (``audited_change``: the use case's ``audit`` hook), so a failed or lost
entry cannot leave a committed change nobody recorded: the entry failing undoes the change and
the answer is a 503. The middleware then does not append a second entry for that answer. Such
an entry goes through ``admin_log.append_in``, as the admin command line's do: when it concerns
a clinic (its id, or a device of it) it is also that clinic's AuditEvent, done or refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync_server import admin_log
from sync_server.api.deps import ACCESS_KEY, AccessRecord, call, context
from sync_server.api.errors import outcome_response
from sync_server.audit import server_log
from sync_server.errors import ClientError, PayloadTooLarge, ServerError, Unavailable
from sync_server.store.clock import now_instant
from sync_server.store.db import Database

log = logging.getLogger("sync_server.access")
_AUDITED = ("/fhir", "/sync", "/admin", "/auth")
_NOT_AUDITED = ("/fhir/metadata",)
_MOST_A_WRITE = 200  # chain entries in one transaction
_ENTRY_KEY = "pms.access.entry"
T = TypeVar("T")


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


class ChainWriter:
    """Appends the access middleware's entries to the server's chain, several a transaction.

    ``append`` returns once its entry is committed (or raises what the write raised). While a
    write runs in a worker thread, entries of other requests wait and go together in the next
    one. Lives on one event loop (its callers' tasks); nothing here needs a lock.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def append(self, fields: dict[str, Any]) -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((fields, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        while self._waiting:
            batch = self._waiting[:_MOST_A_WRITE]
            del self._waiting[:_MOST_A_WRITE]
            try:
                seqs = await call(server_log.append_many, self.db, [f for f, _ in batch])
            except asyncio.CancelledError:  # the loop is closing: nobody is answered
                for _, done in [*batch, *self._waiting]:
                    done.cancel()
                self._waiting.clear()
                raise
            except Exception as exc:  # noqa: BLE001 -- handed to each waiting request
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), seq in zip(batch, seqs, strict=True):
                if not done.done():
                    done.set_result(seq)


class _Entry:
    """Per request: its id, and the status whose entry the route already committed (if any)."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.committed_for: int | None = None


class _EntryInWork:
    """The ``audit`` hook of a state-changing use case: appends the request's access entry (as
    the middleware would write it for an answer of ``status``) in the change's transaction,
    through ``admin_log.append_in``; what the change made (a new id) goes into the entry's
    detail under ``made_as``'s names."""

    def __init__(self, scope: Scope, entry: _Entry, status: int,
                 made_as: dict[str, str]) -> None:
        self.scope, self.entry, self.status, self.made_as = scope, entry, status, made_as
        self.written = False

    def __call__(self, session: Session, made: dict[str, Any]) -> None:
        record = self._record()
        record.detail.update({self.made_as[k]: v for k, v in made.items() if k in self.made_as})
        try:
            self._append(session, record, self.status, "done", None)
        except Exception as exc:  # any failure: the change must not commit without its entry
            log.error("server audit write failed: %s", type(exc).__name__)
            raise Unavailable("the access log cannot be written; nothing was changed, "
                              "retry later") from exc
        self.written = True

    def refused(self, db: Database, exc: ClientError) -> None:
        """The entry of the refusal ``exc`` (the change was undone), in its own transaction."""
        try:
            with db.write() as session:
                self._append(session, self._record(), exc.status, "refused", exc.message)
        except Exception as failed:  # noqa: BLE001 -- no entry, no answer but the 503
            log.error("server audit write failed: %s", type(failed).__name__)
            raise Unavailable("the access log cannot be written; retry later") from failed

    def _record(self) -> AccessRecord:
        record = self.scope.get(ACCESS_KEY)
        if not isinstance(record, AccessRecord):  # set by AccessLog before the route runs
            record = self.scope[ACCESS_KEY] = AccessRecord()
        return record

    def _append(self, session: Session, record: AccessRecord, status: int, outcome: str,
                error: str | None) -> None:
        device = record.detail.get("device")
        clinic_id = admin_log.clinic_of(session, {"clinic_id": record.detail.get("clinic"),
                                                  "device_id": device})
        if clinic_id is not None:
            record.detail.setdefault("clinic", clinic_id)
        concerning = None if clinic_id is None else admin_log.Concerning(
            clinic_id, str(record.interaction), outcome, changes=True,
            device_id=device if isinstance(device, str) else None,
            error=None if error is None else error[:500], door=admin_log.API)
        fields = _audit_fields(self.scope, record, status, self.entry.request_id)
        if error is not None:
            fields["error"] = error[:500]
        admin_log.append_in(session, fields, concerning)


async def audited_change(request: Request, status: int, func: Callable[..., T], *args: Any,
                         made_as: dict[str, str] | None = None) -> T:
    """Run a state-changing use case (``func(*args, audit=hook)``) off the event loop, its
    access entry (for an answer of ``status``) written in the change's own transaction. A
    refusal (a ``ClientError``: nothing changed) has its entry written before it is answered,
    so that a clinic it concerns sees it refused among its AuditEvents."""
    entry = request.scope.get(_ENTRY_KEY)
    if not isinstance(entry, _Entry):  # no access middleware: nobody writes entries
        return await call(func, *args)
    hook = _EntryInWork(request.scope, entry, status, made_as or {})
    try:
        result = await call(func, *args, audit=hook)
    except ClientError as exc:
        if hook.written or exc.status >= 500:
            raise
        await call(hook.refused, context(request).db, exc)
        entry.committed_for = exc.status
        raise
    if hook.written:  # committed with the change: the answer needs no second entry
        entry.committed_for = status
    return result


class AccessLog:
    """The access log line of every request, and the chain entry of every audited one."""

    def __init__(self, app: ASGIApp, writer: ChainWriter) -> None:
        self.app, self.writer = app, writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = AccessRecord()
        scope[ACCESS_KEY] = record
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        entry = scope[_ENTRY_KEY] = _Entry(request_id)
        audited = _audited(scope["path"])
        replaced = False
        status: int | None = None

        async def answer(message: Message) -> None:
            nonlocal replaced, status
            if replaced:
                return  # the rest of an answer that was replaced by the 503
            if message["type"] != "http.response.start":
                await send(message)
                return
            status = int(message["status"])
            if audited and entry.committed_for != status:
                try:
                    await self.writer.append(_audit_fields(scope, record, status, request_id))
                except (ServerError, OSError, RuntimeError) as exc:
                    log.error("server audit write failed: %s", type(exc).__name__)
                    replaced, status = True, 503
                    response = outcome_response(503, "the access log cannot be written; "
                                                "retry later", code="transient")
                    response.headers["X-Request-Id"] = request_id
                    _log_line(scope, record, status, started, request_id)
                    await response(scope, receive, send)
                    return
            headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            _log_line(scope, record, status, started, request_id)
            await send({**message, "headers": headers})

        try:
            await self.app(scope, receive, answer)
        except Exception:
            if status is None:
                _log_line(scope, record, 500, started, request_id)
            raise


def _audit_fields(scope: Scope, record: AccessRecord, status: int,
                  request_id: str) -> dict[str, Any]:
    who = record.principal
    query = QueryParams(scope.get("query_string", b""))
    return {
        "at": now_instant(), "request_id": request_id, "method": scope["method"],
        "route": _route(scope), "status": status,
        "actor": who.label if who else None, "clinic_id": who.clinic_id if who else None,
        "interaction": record.interaction, "resource_type": record.resource_type,
        "entities": record.entities[:1000],
        "query_params": sorted({k for k, _ in query.multi_items()})[:50],
        **record.detail,
    }


def _log_line(scope: Scope, record: AccessRecord, status: int, started: float,
              request_id: str) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    who = record.principal
    log.info(json.dumps({
        "event": "request", "request_id": request_id, "method": scope["method"],
        "route": _route(scope), "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "actor": who.label if who else None, "clinic_id": who.clinic_id if who else None,
    }, separators=(",", ":")))
