"""What routes share: the application context, the caller, the request body, the access record.

Routes stay thin: they read input with these helpers, call one use case in a worker thread
(``call``), and shape the answer. Who may do what is decided here and in ``auth/principal.py``,
never inline in a route.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sync_server.auth import service as auth
from sync_server.auth.principal import Principal
from sync_server.errors import Forbidden, UnsupportedMedia
from sync_server.fhir.validate import parse_json
from sync_server.settings import Settings
from sync_server.store.db import Database

T = TypeVar("T")
ACCESS_KEY = "pms.access"
_JSON_TYPES = ("application/json", "application/fhir+json", "text/json")


class Slots:
    """Work of which at most ``size`` pieces run at once (in worker threads); the rest waits its
    turn in the order it came.

    Work given the same ``one_at_a_time`` key (a clinic's pushes) runs one piece after the other:
    a piece whose key has work running keeps its place in the line and lets those behind it take
    a free slot. In a slot it would only wait for the other's lock in the store, holding the slot
    idle while another clinic's push waited for it.

    A slot (and a key) is held until the thread's work ends, even when the request that waits
    for it is cancelled (a thread cannot be stopped midway). One set of turns per event loop: an
    application may be served by several loops in turn (the tests' clients); closed loops' are
    dropped."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.waiting = 0  # pieces of work waiting for their turn now
        self._by_loop: dict[asyncio.AbstractEventLoop, _Turns] = {}

    async def run(self, func: Callable[..., T], *args: Any, one_at_a_time: Hashable = None,
                  **kwargs: Any) -> T:
        """``call(func, *args, **kwargs)`` in its turn."""
        turns = self._turns()
        self.waiting += 1
        try:
            await turns.take(one_at_a_time)
        finally:
            self.waiting -= 1
        try:
            work = asyncio.ensure_future(call(func, *args, **kwargs))
        except BaseException:
            turns.give_back(one_at_a_time)
            raise

        def done(finished: asyncio.Future[T]) -> None:
            turns.give_back(one_at_a_time)
            if not finished.cancelled():
                finished.exception()  # read here too: nobody may be left to read it

        work.add_done_callback(done)
        return await asyncio.shield(work)

    def _turns(self) -> _Turns:
        loop = asyncio.get_running_loop()
        turns = self._by_loop.get(loop)
        if turns is None:
            self._by_loop = {k: v for k, v in self._by_loop.items() if not k.is_closed()}
            turns = self._by_loop[loop] = _Turns(self.size)
        return turns


class _Turns:
    """One event loop's slots: the work running, and the work waiting in the order it came.

    A freed slot goes to the first piece waiting whose key has no work running; a piece whose
    clinic is pushing keeps its place in the line and goes as soon as that push ends."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.running: set[Hashable] = set()  # keys with work running
        self.free = size
        self.line: deque[tuple[Hashable, asyncio.Future[None]]] = deque()

    async def take(self, key: Hashable) -> None:
        """A slot (and the key's turn, when given); nothing held if cancelled meanwhile."""
        hash(key)  # an unhashable key fails here, before it is in the line
        turn = asyncio.get_running_loop().create_future()
        self.line.append((key, turn))
        self._hand_out()
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():  # given just as it was cancelled
                self.give_back(key)
            else:
                self.line.remove((key, turn))
            raise

    def give_back(self, key: Hashable) -> None:
        self.free += 1
        self.running.discard(key)
        self._hand_out()

    def _hand_out(self) -> None:
        while self.free:
            waiting = next((w for w in self.line if not w[1].done()
                            and (w[0] is None or w[0] not in self.running)), None)
            if waiting is None:
                return
            self.line.remove(waiting)
            key, turn = waiting
            self.free -= 1
            if key is not None:
                self.running.add(key)
            turn.set_result(None)


@dataclass
class AppContext:
    """Built once by ``create_app``: the settings, the store connection, and the slots of the
    pushes a worker applies at once (``Settings.push_slots``)."""

    settings: Settings
    db: Database
    version: str
    push_slots: Slots = field(init=False)

    def __post_init__(self) -> None:
        self.push_slots = Slots(self.settings.push_slots)


@dataclass
class AccessRecord:
    """Filled in by routes, written by the access middleware (logs and server audit chain)."""

    principal: Principal | None = None
    interaction: str | None = None
    resource_type: str | None = None
    entities: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def access(request: Request) -> AccessRecord:
    record = request.scope.get(ACCESS_KEY)
    if not isinstance(record, AccessRecord):
        record = AccessRecord()
        request.scope[ACCESS_KEY] = record
    return record


async def call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking store work off the event loop."""
    return await run_in_threadpool(func, *args, **kwargs)


async def json_body(request: Request) -> Any:
    """The request body as JSON: 415 for a non-JSON content type, 400 when malformed."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _JSON_TYPES:
        raise UnsupportedMedia("send application/fhir+json or application/json")
    return parse_json(await request.body())


async def principal(request: Request) -> Principal:
    """The authenticated caller (401 otherwise), recorded for the access log."""
    who = await call(auth.authenticate, context(request).db,
                     request.headers.get("authorization"))
    access(request).principal = who
    return who


async def device(request: Request) -> Principal:
    who = await principal(request)
    if who.kind != "device":
        raise Forbidden("this endpoint is for enrolled devices")
    return who


async def clinic_caller(request: Request) -> Principal:
    """A device or a system client: a caller bound to one clinic."""
    who = await principal(request)
    if who.kind not in ("device", "system") or who.clinic_id is None:
        raise Forbidden("this endpoint is for devices and system clients")
    return who


async def admin(request: Request) -> Principal:
    who = await principal(request)
    if who.kind != "admin":
        raise Forbidden("this endpoint is for central admins")
    return who


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Route parameter types: ``who: DeviceCaller`` authenticates and authorises in one place.
DeviceCaller = Annotated[Principal, Depends(device)]
ClinicCaller = Annotated[Principal, Depends(clinic_caller)]
AdminCaller = Annotated[Principal, Depends(admin)]
