"""Run a piece of work in a child process and SIGKILL it at a chosen moment.

The children are forked from a multiprocessing *forkserver* that imported the application once,
so a child starts in milliseconds instead of a second (the crash tests start dozens). A child is
a real process of its own: its own SQLCipher connection, its own page cache, nothing shared with
the test process but the files. It reports through a pipe: each message is sent only after the
work it names has returned (an acknowledgement, as the application would show one to a person).
Messages are small, so each is one atomic pipe write: a kill never leaves half a message.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

_CTX = mp.get_context("forkserver")
_CTX.set_forkserver_preload(["tests.reliability.children"])

Message = tuple[Any, ...]


@dataclass
class Run:
    messages: list[Message] = field(default_factory=list)
    killed: bool = False
    exitcode: int | None = None
    error: str | None = None  # a child that failed by itself (a bug in the child or the app)

    def of(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m[0] == kind]


def _child(target: Callable[..., None], out: Connection, args: tuple[Any, ...]) -> None:
    try:
        target(out.send, *args)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which fails the test
        import traceback

        out.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()[-3000:]}"))
        raise


def run(target: Callable[..., None], *args: Any, kill_at: float | None,
        start_on: str = "ready", timeout: float = 120.0) -> Run:
    """Start ``target(send, *args)`` in a child; SIGKILL it ``kill_at`` seconds after its
    first ``start_on`` message (None: let it finish). Returns every message it sent."""
    receive, send = _CTX.Pipe(duplex=False)
    proc = _CTX.Process(target=_child, args=(target, send, args), daemon=True)
    proc.start()
    send.close()  # only the child holds the writing end: its death ends the stream
    result = Run()
    deadline = time.monotonic() + timeout
    kill_deadline: float | None = None
    try:
        while True:
            now = time.monotonic()
            if kill_deadline is not None and now >= kill_deadline:
                proc.kill()
                result.killed = True
                break
            if now > deadline:
                raise AssertionError(f"the child did not finish in {timeout} s")
            wait = min(deadline, kill_deadline or deadline) - now
            if not receive.poll(max(wait, 0)):
                continue
            try:
                message = receive.recv()
            except EOFError:
                break
            result.messages.append(message)
            if message[0] == start_on and kill_at is not None and kill_deadline is None:
                kill_deadline = time.monotonic() + kill_at
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=30)
    # What was acknowledged before the kill is still in the pipe: it counts too.
    while True:
        try:
            if not receive.poll(0):
                break
            result.messages.append(receive.recv())
        except (EOFError, OSError):
            break
    receive.close()
    result.exitcode = proc.exitcode
    errors = result.of("error")
    if errors:
        result.error = str(errors[0][1])
    return result


def kill_points(rng: random.Random, count: int, window: float, *,
                low: float = 0.0) -> list[float]:
    """``count`` kill delays spread over [low, window]: stratified, so that a short run still
    covers early, middle and late moments, each jittered at random within its stratum."""
    width = (window - low) / count
    points = [low + width * (i + rng.random()) for i in range(count)]
    rng.shuffle(points)
    return points
