"""The sync server SIGKILLed at named points of a sync, restarted on the same data, end to end.

The server under test is the production application under uvicorn, wrapped by the test-only
``killing_server.py``, which kills its own process at the armed point: with the push body
received but unread, halfway through applying a push (changes written, nothing committed),
after the push committed as the answer starts, while answering a pull page, after the access
log upload committed, while answering the digest. The workstation's sync fails as "offline";
it keeps working while the server is down (a save succeeds and queues, the status says
offline); the server restarts on the same store (which passes SQLite's integrity check) and
both workstations converge.
Verdict as in the other fault tests (``fault_support.findings``): every change on the server
exactly once, nothing lost, both FHIR exports equal, the access log on the server as written.

Short form: one clinic, killed in a push (before and after its commit) and in a pull; long
form: many clinics, every point at a random occurrence. Replay with ``PMS_FAULT_SEED``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from pms_desktop.sync import engine
from tests.reliability.figures import LONG, trials
from tests.sync.fault_proxy import FaultProxy
from tests.sync.fault_support import (
    KillableServer,
    Pair,
    Tally,
    Workload,
    converge,
    findings,
    local_audit,
    make_pair,
    pending,
    remove_pair,
    try_sync,
)
from tests.sync.killing_server import POINTS

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

SHORT = ("push:mid-transaction", "push:committed", "pull:answering")
# How many times a point is surely reached in the workstation's sync (batches of 4 changes,
# pages of 3): the long form kills at a random one of these occurrences.
REACH = {"push:body-received": 1, "push:mid-transaction": 3, "push:committed": 1,
         "pull:answering": 2, "audit:committed": 1, "digest:answering": 1}
assert set(REACH) == set(POINTS)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PUSH_BATCH", 4)
    monkeypatch.setattr(engine, "PULL_PAGE", 3)


@pytest.fixture
def server(fault_server: KillableServer) -> Iterator[KillableServer]:
    yield fault_server
    fault_server.disarm()
    if fault_server.proc is None or fault_server.proc.poll() is not None:
        fault_server.start()  # a failed test leaves a running server for the next


def _clinic(seed: int, points: list[str], folder: Path, template: tuple[Path, bytes],
            server: KillableServer, proxies: tuple[FaultProxy, FaultProxy], tally: Tally, *,
            first: bool) -> None:
    """One clinic whose server dies at each of ``points`` in turn."""
    rng = random.Random(seed)
    pair = make_pair(template, folder, server, proxies)
    try:
        work = Workload(rng, tag=f"K{seed}x")
        a, b = pair.a, pair.b
        work.new_patients(a, 3)
        a.sync.run_sync()
        b.sync.run_sync()
        done = []
        for point in points:
            n = 1 if first else rng.randint(1, REACH[point])
            done.append(f"{point}#{n}")
            if point == "digest:answering":
                # The digest is asked for by a sync that moves nothing (while changes flow,
                # the workstation compares it only now and then).
                a.sync.run_sync()
            else:
                work.new_patients(a, 2)
                work.move(a, 2)
                work.book(a, 1)
                work.re_email(b, 1)
                work.new_patients(b, 1)
                b.sync.run_sync()
            _kill_during_sync(pair, work, server, point, n, tally)
        work.move(a, 1)
        audit_before = local_audit(a.ctx)
        converge(pair)
        tally.found(f"seed {seed}, kills: {' '.join(done)}",
                    findings(pair, server, work, audit_before=audit_before))
    finally:
        remove_pair(pair)


def _kill_during_sync(pair: Pair, work: Workload, server: KillableServer, point: str,
                      n: int, tally: Tally) -> None:
    server.arm(point, n)
    synced = try_sync(pair.a)
    tally.trials += 1
    if not server.died():
        server.disarm()  # the point was not reached this time
        assert synced, f"the sync failed but the server is alive ({point})"
        return
    tally.faults += 1
    assert not synced, f"the server died at {point} and the sync says it finished"
    assert pair.a.sync.device_status().online is False
    queued = pending(pair.a)
    work.new_patients(pair.a, 1)  # the workstation works on while the server is down
    assert pending(pair.a) == queued + 1
    tally.corrupt(f"server killed at {point}#{n}", server.integrity_problems())
    server.start()


def test_server_killed_at_named_points_of_sync(
        _template: tuple[Path, bytes], tmp_path: Path, server: KillableServer,
        proxies: tuple[FaultProxy, FaultProxy], small_batches: None) -> None:
    base = int(os.environ.get("PMS_FAULT_SEED", "0")) or random.SystemRandom().randrange(1 << 30)
    for proxy in proxies:
        proxy.reset()
    tally = Tally()
    for i in range(trials(1, 8)):
        points = list(POINTS if LONG else SHORT)
        random.Random(base + i).shuffle(points)
        _clinic(base + i, points, tmp_path / f"c{i}", _template, server, proxies, tally,
                first=i == 0)
    tally.record("sync: server killed")
    print(f"{tally.faults} of {tally.trials} server kills reached their point")
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.faults >= tally.trials * 0.8, "too few kills reached their point"
