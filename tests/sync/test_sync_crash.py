"""The workstation SIGKILLed at named points of a push and of a pull, many times, end to end.

A fresh clinic with two workstations on the real server (uvicorn). The first workstation's
first sync is killed as the server takes the clinic key it made (after its restart it must go
on with that key); the second receives the key with a code; both edit and sync. Then, again and
again: both edit offline, ``b`` syncs, and ``a`` runs one real sync in a child process
(``crash_client.py``) that dies at a named point, either in the child itself (a test-side
monkeypatch SIGKILLs it) or in the network (the fault proxy SIGKILLs it once half the body is
through, or once the server has committed and the answer is on its way). ``a`` restarts on the
same folder (its database passes SQLite's and SQLCipher's integrity checks) and keeps working
(its next edit is made on the crashed database), then is killed again at the next point:
crashes pile up on the state a crash left. Finally both sync until quiet, and the verdict
(``fault_support.findings``): every change is on the server exactly once (no two identical
versions in a row, no patient held twice), nothing is lost (both FHIR exports equal each other
and the server, every edit's value is there, the access log is on the server as written),
nothing stuck in the outbox, no spurious conflict.

Short form: one clinic, the main points once each. Long form (``PMS_RELIABILITY=long``):
many clinics, each point at a random occurrence. Replay: ``PMS_FAULT_SEED=<seed>`` (in the
failure message).
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.figures import LONG, trials
from tests.sync.crash_client import POINTS, PROXY_POINTS
from tests.sync.fault_proxy import PASS, Fault, FaultProxy
from tests.sync.fault_support import (
    CrashRunner,
    KillableServer,
    Pair,
    Tally,
    Workload,
    converge,
    findings,
    local_audit,
    make_pair,
    remove_pair,
    wait_for,
    wait_for_pid,
)

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

# How many times a point is surely reached in one of the trial's syncs (batches of 4 changes,
# pages of 3): the long form kills at a random one of these occurrences, the short at the first.
REACH = {"push:before-send": 2, "push:mid-body": 2, "push:server-committed": 2,
         "push:answer-unrecorded": 2, "push:recorded": 2, "pull:mid-page": 4,
         "pull:before-cursor": 2, "pull:between-pages": 2, "pull:answer-lost": 2,
         "audit:answer-unrecorded": 1, "audit:server-committed": 1, "digest:start": 1}
SYNC_POINTS = [p for p in POINTS if not p.startswith("clinic-key")]
assert set(REACH) == set(SYNC_POINTS)
# The short form: the points of the sync contract (DESIGN.md) and of a pull page.
SHORT = ["push:before-send", "push:mid-body", "push:server-committed", "push:answer-unrecorded",
         "pull:mid-page", "pull:before-cursor", "pull:between-pages", "audit:server-committed"]


@pytest.fixture(scope="module")
def runner() -> CrashRunner:
    return CrashRunner()


def _killer(holder: dict[str, int]) -> Callable[[], None]:
    def kill() -> None:
        os.kill(wait_for_pid(holder), signal.SIGKILL)
    return kill


def _crash(pair: Pair, proxy: FaultProxy, runner: CrashRunner, point: str, n: int,
           tally: Tally) -> bool:
    """One sync of ``a`` in a child killed at ``point`` (its ``n``-th occurrence); True when
    the child was killed (it may finish first when the point is not reached)."""
    pair.a.ctx.close()
    holder: dict[str, int] = {}
    if point in PROXY_POINTS:
        prefix, kind = PROXY_POINTS[point]
        proxy.script(prefix, *[PASS] * (n - 1), Fault(kind, hook=_killer(holder)))
    child = runner.start(pair.a.ctx.data_dir, point, n)
    holder["pid"] = int(child.pid or 0)
    code = wait_for(child)
    proxy.reset()
    assert code in (0, -signal.SIGKILL), f"the crash client failed at {point} ({code})"
    pair.reopen_a()
    tally.trials += 1
    tally.faults += code == -signal.SIGKILL
    tally.corrupt(f"{pair.a.name} killed at {point}#{n}", pair.a.ctx.db.integrity_problems())
    return code == -signal.SIGKILL


def _clinic(seed: int, points: list[str], folder: Path, template: tuple[Path, bytes],
            server: KillableServer, proxies: tuple[FaultProxy, FaultProxy],
            runner: CrashRunner, tally: Tally, *, first: bool) -> None:
    """One clinic whose workstation ``a`` is killed at each of ``points`` in turn."""
    rng = random.Random(seed)
    proxies[0].reset()
    pair = make_pair(template, folder, server, proxies, with_key=False)
    try:
        work = Workload(rng, tag=f"S{seed}x")
        a, b = pair.a, pair.b
        work.new_patients(a, 4)
        work.book(a, 1)
        # The clinic's first sync makes the clinic key and leaves it on the server: killed once
        # the server has it, the workstation must go on with that key after its restart (not
        # make another, which the server refuses, leaving a key nobody holds).
        killed = _crash(pair, proxies[0], runner, "clinic-key:server-committed", 1, tally)
        assert killed, "the first sync did not make the clinic key"
        pair.a.sync.run_sync()
        code = pair.a.sync.issue_clinic_key_code(pair.a.as_user("admin"))
        b.sync.enter_clinic_key_code(code)
        b.sync.run_sync()
        done = ["clinic-key:server-committed#1"]
        for point in points:
            n = 1 if first else rng.randint(1, REACH[point])
            done.append(f"{point}#{n}")
            work.new_patients(pair.a, 2)
            work.move(pair.a, 2)
            work.book(pair.a, 1)
            work.re_email(b, 2)
            work.new_patients(b, 1)
            b.sync.run_sync()
            _crash(pair, proxies[0], runner, point, n, tally)
        work.move(pair.a, 1)  # the restarted workstation works at once
        audit_before = local_audit(pair.a.ctx)
        converge(pair)
        tally.found(f"seed {seed}, kills: {' '.join(done)}",
                    findings(pair, server, work, audit_before=audit_before))
    finally:
        remove_pair(pair)


def test_workstation_killed_at_named_points_of_sync(
        _template: tuple[Path, bytes], tmp_path: Path, fault_server: KillableServer,
        proxies: tuple[FaultProxy, FaultProxy], runner: CrashRunner) -> None:
    base = int(os.environ.get("PMS_FAULT_SEED", "0")) or random.SystemRandom().randrange(1 << 30)
    tally = Tally()
    for i in range(trials(1, 10)):
        points = list(SYNC_POINTS if LONG else SHORT)
        random.Random(base + i).shuffle(points)
        _clinic(base + i, points, tmp_path / f"c{i}", _template, fault_server, proxies, runner,
                tally, first=i == 0)
    tally.record("sync: workstation killed")
    print(f"{tally.faults} of {tally.trials} kills reached their point")
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.faults >= tally.trials * 0.8, "too few kills reached their point"
