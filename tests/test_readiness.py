"""tests.readiness: a server that never gets ready fails in bounded time, counted in the
processor time of the whole process tree (a server runs under ``timeout``, in a child)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests import readiness

BUSY = "while True: pass"
IDLE = "import time; time.sleep(60)"


@contextmanager
def _under_timeout(code: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -c code`` as a child of ``timeout`` (as the tests start their servers)."""
    command = ["timeout", "60", sys.executable, "-c", code]
    proc = subprocess.Popen(command)  # noqa: S603
    try:
        yield proc
    finally:
        readiness.stop(proc, grace=5)


pytestmark = pytest.mark.skipif(shutil.which("timeout") is None or sys.platform != "linux",
                                reason="needs timeout(1) and /proc")


def test_processor_time_counts_the_child_under_timeout() -> None:
    with _under_timeout(BUSY) as proc:
        deadline = time.monotonic() + 120
        while readiness.cpu_seconds(proc.pid) < 0.2:
            assert time.monotonic() < deadline, "the busy child's processor time is not counted"
            time.sleep(0.05)


def test_a_busy_server_never_ready_fails_on_its_processor_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness, "CLOCK_FACTOR", 200)  # 60 s: the processor time ends it first
    with _under_timeout(BUSY) as proc, \
            pytest.raises(AssertionError, match=r"did not become ready \((0\.[3-9]|[1-9])"):
        readiness.wait_until(proc, lambda: False, cpu_seconds_allowed=0.3, poll=0.02)


def test_an_idle_server_never_ready_fails_on_the_clock() -> None:
    with _under_timeout(IDLE) as proc:
        began = time.monotonic()
        with pytest.raises(AssertionError, match="did not become ready"):
            readiness.wait_until(proc, lambda: False, cpu_seconds_allowed=0.2, poll=0.02)
        assert readiness.CLOCK_FACTOR * 0.2 <= time.monotonic() - began < 60


def test_a_server_that_exits_fails_at_once_with_its_output() -> None:
    with _under_timeout("raise SystemExit(3)") as proc, \
            pytest.raises(AssertionError, match="exited with 3: the last words"):
        readiness.wait_until(proc, lambda: False, output=lambda: "the last words")


def test_a_ready_server_is_waited_for() -> None:
    checks = iter([False, False, True])
    with _under_timeout(IDLE) as proc:
        readiness.wait_until(proc, lambda: next(checks), poll=0.01)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
        return [int(x) for x in f.read().split()]


@pytest.mark.parametrize("code", [
    BUSY,  # ends on the SIGTERM ``timeout`` passes on
    "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass",  # does not
], ids=["terminates", "ignores-sigterm"])
def test_stopping_a_server_under_timeout_ends_its_command_too(code: str) -> None:
    proc = subprocess.Popen(["timeout", "60", sys.executable, "-c", code])  # noqa: S603, S607
    try:
        deadline = time.monotonic() + 60
        while not _children(proc.pid):
            assert time.monotonic() < deadline, "timeout did not start its command"
            time.sleep(0.02)
        [child] = _children(proc.pid)
        time.sleep(0.3)  # the command has set up its handlers
        readiness.stop(proc, grace=1)
        gone = time.monotonic() + 10
        while os.path.exists(f"/proc/{child}") and _state(child) != "Z":
            assert time.monotonic() < gone, "the command outlived its timeout"
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
