"""``serve --workers N``: uvicorn's supervisor, each worker on a listening socket of its own.

uvicorn's supervisor (``uvicorn.supervisors.Multiprocess``) does the process work: it starts the
N workers, starts a new one when one dies or stops answering its health check, stops the
server when a worker fails to start (the app, the TLS files or the address are broken, and
every restart would fail the same way), and on SIGTERM or SIGINT (CTRL+BREAK on Windows) stops
the workers, each finishing the requests it has begun.

What this module changes is where the workers accept connections. uvicorn's workers share the
parent's socket, and whichever worker wakes first accepts: a burst of connections lands on one
worker and, as workstations keep their connection alive, stays there while the other cores
idle (measured: one worker took a whole 20-clinic burst, 5.8 s of wall time for 1.5 s of
CPU). On Linux each worker binds a socket of its own to the address with ``SO_REUSEPORT``
instead, and the kernel spreads new connections over the listening sockets by a hash of each
connection's addresses (a hash, not a count: 20 connections may well split 14/6). The
parent binds one too and never listens on it (a socket that does
not listen takes no connections): it holds the address while workers restart. macOS and the
BSDs accept ``SO_REUSEPORT`` but hand every connection to one socket, and Windows has no such
option: there the workers share the parent's socket, as uvicorn does by default.

The price of separate sockets: a worker that dies drops the connections still waiting in its
own accept queue (a client's retry reaches another worker); uvicorn accepts as connections
arrive, so that queue is short.
"""

from __future__ import annotations

import logging
import socket
import sys
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
    """True where the kernel spreads connections over ``SO_REUSEPORT`` sockets (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


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
    if balances_connections():
        _check_free(config.host, config.port)
        reserved = _reuse_port_socket(config.host, config.port)
        sockets: list[Any] = [_OwnSocket(config.host, config.port)]
        log.info("listening on %s:%d, %d workers, each on its own SO_REUSEPORT socket",
                 config.host, config.port, config.workers)
    else:
        reserved = config.bind_socket()  # uvicorn's shared socket; it logs the address
        sockets = [reserved]
    supervisor = Multiprocess(config, sockets=sockets)
    try:
        supervisor.run()
    except KeyboardInterrupt:  # before the supervisor took SIGINT over, as uvicorn.run does
        pass
    finally:
        reserved.close()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


@dataclass(frozen=True)
class _OwnSocket:
    """Stands in the socket list uvicorn hands to every worker it starts (a replacement
    included). uvicorn pickles that list into the new process, where this unpickles as a
    socket of that worker's own, bound to the address with ``SO_REUSEPORT``."""

    host: str
    port: int

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return _bind_in_worker, (self.host, self.port)


def _bind_in_worker(host: str, port: int) -> socket.socket:
    try:
        return _reuse_port_socket(host, port)
    except OSError as exc:  # the supervisor then stops the server instead of retrying
        print(f"worker cannot bind {host}:{port}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _check_free(host: str, port: int) -> None:
    """Refuse an address another program listens on. A ``SO_REUSEPORT`` bind would succeed
    next to another listener of the same user (a second server started by mistake) and share
    its connections; a plain bind, as uvicorn makes, fails."""
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()
