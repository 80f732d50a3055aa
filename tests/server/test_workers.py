"""The process model of ``serve --workers N`` (``sync_server/workers.py``) without a store: what
happens when the address is taken or a worker cannot start. Workers run as real processes;
each case is bounded by a subprocess timeout. The serving behaviour (connections spread over
the workers, a killed worker replaced, SIGTERM) is in ``test_e2e_uvicorn.py``."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from sync_server import workers


def _config(port: int, app: str = "sync_server.app:factory") -> uvicorn.Config:
    return uvicorn.Config(app, factory=True, host="127.0.0.1", port=port, workers=2,
                          log_config=None)


@pytest.mark.parametrize("reuse_port", [False, True], ids=["another-program", "another-server"])
def test_a_port_something_listens_on_is_refused(reuse_port: bool) -> None:
    """Also a listener with SO_REUSEPORT, which a socket with that option would join,
    taking half its connections."""
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT here")
    with socket.socket() as other:
        if reuse_port:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            workers.run(_config(port))


def test_a_worker_that_cannot_start_stops_the_server_with_an_error() -> None:
    """No restart loop: the supervisor stops and the command exits non-zero."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    script = ("import sys, uvicorn; from sync_server import workers; "
              f"sys.exit(workers.run(uvicorn.Config('sync_server.no_such_module:app', "
              f"host='127.0.0.1', port={port}, workers=2, log_config=None)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,  # noqa: S603
                          timeout=120, check=False)
    assert done.returncode == STARTUP_FAILURE, done.stderr.decode(errors="replace")[-2000:]
