"""The real sync server, run by uvicorn in a test, that SIGKILLs itself at a named point.

Test-only: ``uvicorn tests.sync.killing_server:factory --factory`` builds the production
application with ``sync_server.app.create_app`` (settings from ``PMS_SYNC_SETTINGS``, as for a
worker process) and wraps it. Nothing in ``sync_server`` knows about this.

The test arms a point by writing ``POINT N`` to the file named by ``PMS_TEST_KILL_FILE``: the
server then kills itself (after removing the file, so that its restart is clean) the ``N``-th
time it reaches the point from then on. With no file, the wrapper only passes requests through.
Arming through a file lets one server process serve a test's clean syncs and die at the armed
point of the next one, without a restart per arming.

Points:

* ``push:body-received``  the push body has fully arrived, before the application reads it
* ``push:mid-transaction``  the ``N``-th change of a push is about to be applied, the ones before
  it written in the open transaction (nothing committed)
* ``push:committed``  the push transaction committed, killed as the answer starts
* ``pull:answering``  a pull page is read, killed as the answer starts
* ``audit:committed``  the access-log upload committed, killed as the answer starts
* ``digest:answering``  the digest computed, killed as the answer starts
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from sync_server.app import create_app
from sync_server.settings import Settings

ENV_KILL_FILE = "PMS_TEST_KILL_FILE"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ANSWER_POINTS = {"push:committed": "/sync/push", "pull:answering": "/sync/pull",
                 "audit:committed": "/sync/audit", "digest:answering": "/sync/digest"}
POINTS = ("push:body-received", "push:mid-transaction", *ANSWER_POINTS)


class Arming:
    """The armed point, read from the kill file whenever it changes; counts the hits."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._armed: tuple[str, int] | None = None
        self._count = 0

    def armed(self) -> str | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp = self._armed = None
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                point, _, n = self.path.read_text().partition(" ")
                if point not in POINTS or not n.strip().isdigit():
                    raise SystemExit(f"kill file: expected 'POINT N', POINT one of {POINTS}")
                self._stamp, self._armed, self._count = stamp, (point, int(n)), 0
            return self._armed[0] if self._armed else None

    def hit(self, point: str) -> None:
        """One more occurrence of ``point``: die if it is the armed one's ``N``-th."""
        with self._lock:
            if self._armed is None or self._armed[0] != point:
                return
            self._count += 1
            if self._count < self._armed[1]:
                return
            assert self.path is not None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


class KillingApp:
    def __init__(self, app: ASGIApp, arming: Arming) -> None:
        self.app, self.arming = app, arming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        point = self.arming.armed() if scope["type"] == "http" else None
        path = scope.get("path", "")
        if point == "push:body-received" and path == "/sync/push":
            async def receive_and_die() -> Message:
                message = await receive()
                if message.get("type") == "http.request" and not message.get("more_body"):
                    self.arming.hit(point)
                return message
            return await self.app(scope, receive_and_die, send)
        if point in ANSWER_POINTS and path.startswith(ANSWER_POINTS[point]):
            async def send_or_die(message: Message) -> None:
                if message.get("type") == "http.response.start" and message["status"] == 200:
                    self.arming.hit(point)
                await send(message)
            return await self.app(scope, receive, send_or_die)
        return await self.app(scope, receive, send)


def _arm_transaction(arming: Arming) -> None:
    """Die as the push applies a change (inside its open transaction) when that is armed."""
    from sync_server.sync import push

    original = push._one

    def one(*args: Any, **kwargs: Any) -> Any:
        if arming.armed() == "push:mid-transaction":
            arming.hit("push:mid-transaction")
        return original(*args, **kwargs)

    push._one = one


def factory() -> ASGIApp:
    app = create_app(Settings.from_env())
    kill_file = os.environ.get(ENV_KILL_FILE)
    arming = Arming(Path(kill_file) if kill_file else None)
    _arm_transaction(arming)
    return KillingApp(app, arming)
