"""Waiting for a server the tests started in a subprocess, bounded by the work it does.

A start costs about 1 s of processor time (imports, migrations), which at a load of 20-35 on
the shared 2-core machine took 16-40 s on the clock: a fixed bound on the clock failed healthy
starts ('did not become ready'). So the bound is the processor time the server process and its
descendants spend without getting ready (``cpu_seconds``), with a hard limit of five times that
on the clock should it wait on something without working. A server that never gets ready still
fails, in bounded time; one that exits fails at once.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Callable

import httpx

from bench.sync_env import cpu_seconds as _tree_cpu_seconds

CLOCK_FACTOR = 5


def stop(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """End a server the tests started and every process it started: SIGTERM (``timeout``
    passes it on to its command), then, after ``grace`` seconds, SIGKILL to its process group
    when it leads one. ``timeout`` makes a group of its own; SIGKILL to ``timeout`` alone left
    its command running for good (a busy child, a server and its workers, found alive hours
    later)."""
    try:
        leads_group = os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:  # reaped already
        leads_group = False
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if leads_group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # the group is empty: everything ended
            pass
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def cpu_seconds(pid: int) -> float:
    """Processor time used so far by the process ``pid`` and all its descendants (servers run
    under ``timeout``; uvicorn's workers are children); where ``/proc`` is missing, the time on
    the clock."""
    if not os.path.isdir("/proc"):
        return time.monotonic()
    return _tree_cpu_seconds(pid)


def wait_until(proc: subprocess.Popen[bytes], ready: Callable[[], bool], *,
               cpu_seconds_allowed: float = 30, poll: float = 0.1, what: str = "the server",
               output: Callable[[], str] = lambda: "") -> None:
    """Until ``ready()``. Fails if ``proc`` exits first, or spends ``cpu_seconds_allowed`` of
    processor time (or ``CLOCK_FACTOR`` times that on the clock) without getting ready;
    ``output()`` (e.g. the tail of its log) is added to the failure's message."""
    deadline = time.monotonic() + CLOCK_FACTOR * cpu_seconds_allowed
    started = cpu_seconds(proc.pid)
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}: {output()}")
        if ready():
            return
        spent = cpu_seconds(proc.pid) - started
        if spent >= cpu_seconds_allowed or time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not become ready ({spent:.1f} s of processor "
                                 f"time): {output()}")
        time.sleep(poll)


def answers_readyz(url: str, *, verify: ssl.SSLContext | bool = True,
                   timeout: float = 1) -> Callable[[], bool]:
    """A check that ``url/readyz`` answers 200 (a refused or timed-out request: not yet)."""
    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=timeout, verify=verify).status_code == 200
        except httpx.TransportError:
            return False
    return ready


def wait_ready(proc: subprocess.Popen[bytes], url: str, *, verify: ssl.SSLContext | bool = True,
               cpu_seconds_allowed: float = 30, poll: float = 0.1, what: str = "the server",
               output: Callable[[], str] = lambda: "") -> None:
    """Until the server ``proc`` started answers ``url/readyz`` (see :func:`wait_until`)."""
    wait_until(proc, answers_readyz(url, verify=verify), cpu_seconds_allowed=cpu_seconds_allowed,
               poll=poll, what=what, output=output)
