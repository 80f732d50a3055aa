"""bench.sync_env: the bench's server start waits bounded by the server's processor time, as the
tests do (tests/readiness.py), and a server that exits says why (the tail of its stderr)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench import sync_env
from tests import readiness

BUSY = "while True: pass"
IDLE = "import time; time.sleep(60)"
NOBODY = f"http://127.0.0.1:{sync_env._free_port()}"  # nothing listens there

pytestmark = pytest.mark.skipif(shutil.which("timeout") is None or sys.platform != "linux",
                                reason="needs timeout(1) and /proc")


@contextmanager
def _under_timeout(code: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -c code`` as a child of ``timeout``, as running_server starts the server."""
    proc = subprocess.Popen(["timeout", "60", sys.executable, "-c", code],  # noqa: S603, S607
                            stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        readiness.stop(proc, grace=5)
        assert proc.stderr is not None
        proc.stderr.close()


def test_a_busy_server_never_ready_fails_on_its_processor_time() -> None:
    with _under_timeout(BUSY) as proc:
        began = time.monotonic()
        with pytest.raises(RuntimeError, match=r"did not become ready \((0\.[3-9]|[1-9])"):
            # 60 s on the clock: the processor time (its child's, under timeout) ends it first
            sync_env.wait_for_readyz(proc, NOBODY, cpu_seconds_allowed=0.3, clock_factor=200,
                                     poll=0.02)
        assert time.monotonic() - began < 55


def test_an_idle_server_never_ready_fails_on_the_clock() -> None:
    with _under_timeout(IDLE) as proc:
        began = time.monotonic()
        with pytest.raises(RuntimeError, match="did not become ready"):
            sync_env.wait_for_readyz(proc, NOBODY, cpu_seconds_allowed=0.2, poll=0.02)
        assert 5 * 0.2 <= time.monotonic() - began < 55


def test_a_server_that_exits_fails_at_once_with_its_stderr(tmp_path) -> None:  # type: ignore[no-untyped-def]
    began = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)exited with 1: .*unable to open database file"):
        with sync_env.running_server(f"sqlite:///{tmp_path}/no-such-folder/server.db"):
            pass
    assert time.monotonic() - began < 120  # not the processor-time bound: it exited
