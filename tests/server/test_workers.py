"""The process model of ``serve --workers N`` (``sync_server/workers.py``) without a store: what
happens when the address is taken or a worker cannot start. Workers run as real processes;
each case is bounded by a subprocess timeout. The serving behaviour (connections spread over
the workers, a killed worker replaced, SIGTERM) is in ``test_e2e_uvicorn.py``."""

from __future__ import annotations

import asyncio
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


def test_a_connection_a_worker_accepts_sends_its_answers_at_once() -> None:
    """A worker's connections go through the turn-taking socket, which asyncio serves without
    setting TCP_NODELAY itself (uvicorn's listening socket says protocol 0). Without it, an
    answer written in two parts (headers, then body) waited for the client's delayed
    acknowledgement: 40 ms more a request on Linux."""
    listening = uvicorn.Config("x:app", host="127.0.0.1", port=0).bind_socket()
    served = workers._turn_taking_in_worker(listening, workers.Turns(2).slots)
    nodelay: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def serve_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=served)
        async with server:
            port = served.getsockname()[1]
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout=10)
            for _ in range(200):  # accepted within 2 s
                if nodelay:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(serve_one())
    assert nodelay and nodelay[0] != 0
