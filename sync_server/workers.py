"""``serve --workers N``: uvicorn's supervisor, the workers taking connections in turn.

uvicorn's supervisor (``uvicorn.supervisors.Multiprocess``) does the process work: it starts the
N workers, starts a new one when one dies or stops answering its health check, stops the
server when a worker fails to start (the app, the TLS files or the address are broken, and
every restart would fail the same way), and on SIGTERM or SIGINT (CTRL+BREAK on Windows) stops
the workers, each finishing the requests it has begun.

What this module changes is which worker accepts a connection. All workers accept from the
parent's one listening socket, as uvicorn's do; left alone, whichever worker wakes first
accepts, so a burst of connections lands on one worker and, as workstations keep their
connection alive, stays there while the other cores idle (measured: one worker took a whole
20-clinic burst, 5.8 s of wall time for 1.5 s of CPU). Each worker's socket here
(``_TurnTaking``) accepts only when no other live worker has fewer connections open (on a tie,
fewer accepted in all): the workers are woken together for a waiting connection, and the one
whose turn it is takes it. A burst of 20 splits 10/10. (Before, each worker listened on a
``SO_REUSEPORT`` socket of its own and the kernel spread connections by a hash of their
addresses: 20 connections split 13/7, even 16/4, and the busier worker set the figure's p95.)

The counts live in a small shared array the supervisor makes (a slot per worker: its pid,
connections open, connections accepted); a worker takes a free slot as it starts (the slot of
a dead worker is free), counts a connection when it accepts it and again when it closes it.
A worker whose turn it is not waits at most ``PATIENCE_SECONDS`` for the others (one stuck
in a long call, or killed: its slot is freed when its pid is gone) before it accepts anyway.
The workers run asyncio's own event loop (uvloop's server accepts without calling the socket's
``accept``). On Windows uvicorn hands each worker a socket of its own making, so the workers
there simply share the socket, as uvicorn's do.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("sync_server.workers")

# A worker that has not answered the supervisor's ping for this long is killed and replaced.
# uvicorn's default (5 s) can kill a healthy worker on a machine whose cores are shared with
# other heavy work, in the middle of its requests; a crashed worker is seen at once anyway.
HEALTHCHECK_SECONDS = 30


def balances_connections() -> bool:
    """True where the workers take connections in turn (not on Windows, where uvicorn hands
    each worker a socket of its own making)."""
    return os.name != "nt"


def log_config(level: str) -> dict[str, Any]:
    """``logs.configure`` as a ``dictConfig`` that uvicorn applies in every worker it starts
    (a spawned worker begins with no logging set up: its request log would be lost)."""
    loggers = ("sync_server", "uvicorn", "uvicorn.error")
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"json": {"()": "sync_server.logs.JsonFormatter"}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                    "stream": "ext://sys.stderr"}},
            "loggers": {name: {"handlers": ["stderr"], "level": level.upper(),
                               "propagate": False} for name in loggers}}


def run(config: Config) -> int:
    """Serve ``config`` (``workers`` > 1, an app import string) until a signal stops it; 0, or
    uvicorn's start-up failure code when a worker could not start."""
    config.loop = "asyncio"  # its server accepts through the socket's accept (uvloop's does not)
    _check_free(config.host, config.port)
    listening = config.bind_socket()  # uvicorn's shared socket; it logs the address
    turns = Turns(config.workers)
    supervisor = Multiprocess(config, sockets=[_Shared(listening, turns.slots)])  # type: ignore[list-item]
    try:
        supervisor.run()
    except KeyboardInterrupt:  # before the supervisor took SIGINT over, as uvicorn.run does
        pass
    finally:
        listening.close()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


# How long a worker leaves a waiting connection to a worker whose turn it is, and how long it
# then sleeps between looks (asyncio calls ``accept`` again at once while one waits).
PATIENCE_SECONDS = 0.5
LOOK_EVERY_SECONDS = 0.001
_PID, _OPEN, _ACCEPTED = range(3)  # a slot's fields


class Turns:
    """The workers' shared counts: ``3 * slots`` integers (pid, open, accepted per slot), made
    by the supervisor and handed to every worker it starts (replacements included)."""

    def __init__(self, workers: int) -> None:
        # Twice the workers: a replacement may start before its predecessor's slot is freed.
        self.slots = multiprocessing.get_context("spawn").Array("q", 3 * (2 * workers + 2))


class _Gate:
    """One worker's side of the turn taking (all its calls come from its event loop)."""

    def __init__(self, slots: Any) -> None:
        self.slots, self.pid = slots, os.getpid()
        self.values = slots.get_obj()
        self.mine = self._claim()
        self.refusing_since: float | None = None

    def _claim(self) -> int | None:
        with self.slots.get_lock():
            values = self.values
            count = len(values) // 3
            for i in range(count):
                pid = values[3 * i + _PID]
                if pid and not _alive(pid):
                    values[3 * i + _PID] = 0
            free = [i for i in range(count) if not values[3 * i + _PID]]
            if not free:
                return None  # no slot: this worker takes whatever comes to it
            # A new worker starts level with the others' totals, or it would take every
            # connection until it had accepted as many as they had in all.
            level = max((values[3 * i + _ACCEPTED] for i in range(count)
                         if values[3 * i + _PID]), default=0)
            at = 3 * free[0]
            values[at + _PID], values[at + _OPEN], values[at + _ACCEPTED] = self.pid, 0, level
            return free[0]

    def may_accept(self) -> bool:
        if self.mine is None:
            return True
        values, mine = self.values, 3 * self.mine
        me = (values[mine + _OPEN], values[mine + _ACCEPTED])
        ahead = False
        for at in range(0, len(values), 3):
            pid = values[at + _PID]
            if at == mine or not pid or (values[at + _OPEN], values[at + _ACCEPTED]) >= me:
                continue
            if not _alive(pid):  # killed: it accepts nothing more
                values[at + _PID] = 0
                continue
            ahead = True
            break
        if not ahead:
            self.refusing_since = None
            return True
        now = time.monotonic()
        if self.refusing_since is None:
            self.refusing_since = now
        if now - self.refusing_since >= PATIENCE_SECONDS:  # the others are not taking it
            self.refusing_since = None
            return True
        return False

    def opened(self) -> None:
        if self.mine is not None:
            self.values[3 * self.mine + _OPEN] += 1
            self.values[3 * self.mine + _ACCEPTED] += 1

    def closed(self) -> None:
        if self.mine is not None:
            self.values[3 * self.mine + _OPEN] -= 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists (another user's, say)
        return True
    return True


class _TurnTaking(socket.socket):
    """The shared listening socket as one worker sees it: ``accept`` (what asyncio's server
    calls for each waiting connection) refuses, as if nothing were waiting, when it is
    another worker's turn; the sockets it hands out count themselves closed."""

    gate: _Gate

    def accept(self) -> tuple[socket.socket, Any]:
        if not self.gate.may_accept():
            time.sleep(LOOK_EVERY_SECONDS)  # not a busy loop while the other one takes it
            raise BlockingIOError  # asyncio: nothing more to accept now
        fd, address = self._accept()  # type: ignore[attr-defined]
        connection = _Counted(self.family, self.type, self.proto, fileno=fd)
        connection.gate = self.gate
        if self.family in (socket.AF_INET, socket.AF_INET6):
            # Answers go out at once (what asyncio sets on the TCP connections it accepts
            # itself; it does not here: uvicorn's listening socket says protocol 0, so the
            # connection does too). Without it, Nagle's algorithm held an answer's body back
            # until the client's delayed acknowledgement of its headers: every request took
            # 40 ms more with two workers than with one.
            try:
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # reset by the peer already (BSDs refuse it then): the first read
                # reports the reset
                pass
        if socket.getdefaulttimeout() is None and self.gettimeout():
            connection.setblocking(True)
        self.gate.opened()
        return connection, address


class _Counted(socket.socket):
    """An accepted connection that tells its worker's gate when it is closed (once)."""

    gate: _Gate | None

    def close(self) -> None:
        gate, self.gate = getattr(self, "gate", None), None
        if gate is not None:
            gate.closed()
        super().close()


@dataclass(frozen=True)
class _Shared:
    """Stands in the socket list uvicorn hands to every worker it starts (a replacement
    included). uvicorn pickles that list into the new process, where this unpickles as the
    shared listening socket, turn-taking, with the worker's slot in the shared counts."""

    sock: socket.socket
    slots: Any

    def __reduce__(self) -> tuple[Any, tuple[socket.socket, Any]]:
        return _turn_taking_in_worker, (self.sock, self.slots)


def _turn_taking_in_worker(sock: socket.socket, slots: Any) -> socket.socket:
    shared = _TurnTaking(sock.family, sock.type, sock.proto, fileno=sock.detach())
    shared.gate = _Gate(slots)
    return shared


def _check_free(host: str, port: int) -> None:
    """Refuse an address another program listens on with an error that names it (uvicorn's
    own bind logs the error and exits)."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                          socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()
