"""Sync figures of the real client (``ctx.sync.run_sync()``) against the real server.

One clinic on a server started for the run (SQLite store, uvicorn subprocess on 127.0.0.1):

1. *Source*: a copy of the demo clinic, enrolled; every syncable record is queued in its outbox
   (``--quick``: the records of 100 patients) and pushed by ``run_sync()``. This is a
   clinic's first sync; its rate is reported for information.
2. *Push*: 10,000 local changes (``--quick``: 500) queued on records the server holds, then one
   ``run_sync()``, timed whole (push, pull of what came back, access-log upload, drift check).
3. *No-op*: ``run_sync()`` with nothing to do, repeated.
4. *First pull*: a new, empty workstation is enrolled (with the clinic key code an admin
   issues on the source) and its first ``run_sync()`` fills it; the rate is pulled resources
   per second over the whole sync, and each page's rate gives the spread.

The raw pushed resources are handed back (pulled from the server) for the server figures.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, insert, select

from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.enums import OutboxStatus, Role
from pms_desktop.domain.ids import new_id
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.store.models import Base, OutboxChange

from . import sync_env
from .harness import Figure, p95
from .workstation import actor


@dataclass
class SyncScale:
    patients: int | None  # patients whose records are pushed first (None: the whole clinic)
    push_changes: int
    push_repeat: int
    noop_repeat: int


QUICK = SyncScale(patients=100, push_changes=500, push_repeat=1, noop_repeat=5)
FULL = SyncScale(patients=None, push_changes=10_000, push_repeat=3, noop_repeat=20)


@dataclass
class ClientRun:
    figures: list[Figure] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)  # as the server holds them


def rate_figure(name: str, target: float, rates: list[float], *, overall: float | None = None,
                note: str = "") -> Figure:
    """A rate: the median (or the overall rate when given) and, in the p95 column, the rate
    that 95 % of the samples reach (the slow end)."""
    ordered = sorted(rates)
    low = ordered[max(0, int(round(0.05 * (len(ordered) - 1))))] if ordered else None
    value = overall if overall is not None else (statistics.median(rates) if rates else None)
    return Figure(name, f">= {target:g}/s", value, low, "/s",
                  None if value is None else value >= target, note)


def timed_once(name: str, budget_ms: float, values: list[float], note: str = "") -> Figure:
    q = p95(values)
    return Figure(name, f"< {budget_ms:g} ms", statistics.median(values), q, "ms",
                  q < budget_ms, note)


# -- workstations ---------------------------------------------------------------------------


def copy_clinic(source: Path, target: Path, name: str) -> AppContext:
    """A copy of a clinic folder as another install of the same clinic (own database id)."""
    keystore = KeyStore()
    key = keystore.get(KeyInfo.load(source).keyring_name)
    assert key is not None, "the demo clinic's key is not in the bench keyring"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock", "backups"))
    info = KeyInfo.load(target)
    info.database_id = new_id()
    info.save(target)
    keystore.put(info.keyring_name, key)
    db = ClinicDatabase.open(target)
    with db.engine.begin() as conn:  # edits other benchmarks left (a note draft, say): the
        conn.execute(delete(OutboxChange))  # first sync queues every record itself
    return build_context(db)


@contextmanager
def closing(ctx: AppContext) -> Iterator[AppContext]:
    try:
        yield ctx
    finally:
        ctx.close()


def syncable_tables(ctx: AppContext) -> list[Table]:
    """The syncable tables in foreign-key order, child rows counted with their record (a
    payment's allocations point at invoices: invoices first), as a clinic creates them."""
    from pms_desktop.fhir.mapping import MAPPERS

    names = set(ctx.sync.rmap.tables)  # type: ignore[attr-defined]
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    needs: dict[str, set[str]] = {}
    for name in names:
        own = [tables[name], *(child.__table__ for _, child in MAPPERS[name].children)]
        needs[name] = {fk.column.table.name for t in own for fk in t.foreign_keys} & (
            names - {name})
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = sorted(n for n in names - set(ordered) if needs[n] <= set(ordered))
        ordered += ready[:1] or sorted(names - set(ordered))[:1]  # a cycle: take one
    return [tables[n] for n in ordered]


def queue(ctx: AppContext, *, patients: int | None = None, only_held: bool = False,
          limit: int | None = None) -> int:
    """Queue outbox changes as local edits would, in bulk: every record (of the first
    ``patients`` patients and the clinic's shared records), or with ``only_held`` up to
    ``limit`` records the server already holds (an edit of each)."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with ctx.db.sessions()() as s:
        chosen: list[str] | None = None
        if patients is not None:
            from pms_desktop.store.models import Patient
            chosen = list(s.scalars(select(Patient.id).order_by(Patient.id).limit(patients)))
        for table in syncable_tables(ctx):
            model = ctx.sync.rmap.model(table.name)  # type: ignore[attr-defined]
            query = select(table.c.id, table.c.server_version, table.c.local_revision)
            if only_held:
                query = query.where(table.c.server_version.is_not(None))
            elif chosen is not None and table.name == "patient":
                query = query.where(table.c.id.in_(chosen))
            elif chosen is not None and "patient_id" in table.c:
                query = query.where(table.c.patient_id.in_(chosen))
            for rid, version, revision in s.execute(query.order_by(table.c.id)):
                rows.append({"change_id": new_id(), "resource_type": model.__fhir_type__,
                             "table_name": table.name, "resource_id": rid, "op": "upsert",
                             "base_version": version, "local_revision": revision or 1,
                             "created_at": now, "status": OutboxStatus.PENDING, "attempts": 0})
                if limit is not None and len(rows) >= limit:
                    break
            if limit is not None and len(rows) >= limit:
                break
    with ctx.db.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(OutboxChange), rows[start:start + 5000])
    return len(rows)


def _sync(ctx: AppContext, progress: Any = None) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = ctx.sync.run_sync(progress=progress)  # type: ignore[attr-defined]
    return (time.perf_counter() - t0) * 1000, result


def pulled_resources(base_url: str, token: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` resources as the server holds them (the sync feed, raw)."""
    import httpx

    out: list[dict[str, Any]] = []
    cursor = 0
    with httpx.Client(base_url=base_url, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        while len(out) < limit:
            page = http.get("/sync/pull", params={"cursor": cursor, "limit": 1000}).json()
            out += [c["resource"] for c in page["changes"] if c["resource"] is not None]
            cursor = page["next_cursor"]
            if not page["more"]:
                break
    return out[:limit]


@dataclass
class PullClock:
    """When a sync's pull ended and the rates of its pages (changes per second from one page's
    arrival to the next one's, or to the pull's end: the apply of that page, while the next
    one is fetched)."""

    rates: list[float] = field(default_factory=list)
    pull_done: float | None = None
    pull_cpu: float | None = None  # this process's CPU time then (``time.process_time``)
    pull_server_cpu: float | None = None  # the server's, when a server is given


@contextmanager
def pull_clock(server: sync_env.Server | None = None) -> Iterator[PullClock]:
    from pms_desktop.sync.engine import SyncEngine
    from pms_desktop.sync.transport import SyncClient

    original_pull, original_engine_pull = SyncClient.pull, SyncEngine.pull
    marks: list[tuple[float, int]] = []
    clock = PullClock()

    def pull(self: SyncClient, cursor: int, limit: int) -> Any:
        page = original_pull(self, cursor, limit)
        marks.append((time.perf_counter(), len(page.get("changes") or ())))
        return page

    def engine_pull(self: SyncEngine, *args: Any, **kwargs: Any) -> None:
        try:
            original_engine_pull(self, *args, **kwargs)
        finally:
            if clock.pull_done is None:
                clock.pull_done = time.perf_counter()
                clock.pull_cpu = time.process_time()
                clock.pull_server_cpu = server.cpu() if server is not None else None
                marks.append((clock.pull_done, 0))

    SyncClient.pull = pull  # type: ignore[method-assign]
    SyncEngine.pull = engine_pull  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        SyncClient.pull = original_pull  # type: ignore[method-assign]
        SyncEngine.pull = original_engine_pull  # type: ignore[method-assign]
        marks.sort()  # arrivals (a page fetched ahead may be recorded from another thread)
        clock.rates += [n / (t1 - t0) for (t0, n), (t1, _) in zip(marks, marks[1:], strict=False)
                        if n and t1 > t0]


@dataclass
class FirstPull:
    """A new workstation's first sync: resources pulled, seconds to the pull's end, the whole
    sync's milliseconds, each page's rate, and the client's and the server's CPU seconds to
    the pull's end."""

    pulled: int
    seconds: float
    whole_ms: float
    rates: list[float]
    client_cpu: float
    server_cpu: float


def first_pull(server: sync_env.Server, code: str, key_code: str, folder: Path, *,
               profile: Path | None = None) -> FirstPull:
    """Make a new, empty workstation in ``folder``, enrol it with the enrolment ``code`` and
    the clinic ``key_code``, and time its first ``run_sync()`` (``profile``: the client's
    cProfile statistics written there)."""
    import cProfile

    db, _secret = ClinicDatabase.create(folder)
    with closing(build_context(db)) as fresh:
        fresh.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=server.url, code=code, device_name="bench fresh",
            clinic_key_code=key_code)
        profiler = cProfile.Profile() if profile else None
        c0, s0, began = time.process_time(), server.cpu(), time.perf_counter()
        with pull_clock(server) as clock:
            if profiler:
                profiler.enable()
            ms, result = _sync(fresh)
            if profiler:
                profiler.disable()
        if profiler and profile:
            profiler.dump_stats(str(profile))
        return FirstPull(
            result.pulled, (clock.pull_done or time.perf_counter()) - began, ms, clock.rates,
            (clock.pull_cpu or time.process_time()) - c0,
            (clock.pull_server_cpu or server.cpu()) - s0)


# -- the figures ----------------------------------------------------------------------------


@contextmanager
def push_clock() -> Iterator[list[float]]:
    """When each sync's push ended (its pull began), as ``time.perf_counter()`` values."""
    from pms_desktop.sync.engine import SyncEngine

    original = SyncEngine.pull
    marks: list[float] = []

    def engine_pull(self: SyncEngine, *args: Any, **kwargs: Any) -> None:
        marks.append(time.perf_counter())
        original(self, *args, **kwargs)

    SyncEngine.pull = engine_pull  # type: ignore[method-assign]
    try:
        yield marks
    finally:
        SyncEngine.pull = original  # type: ignore[method-assign]


def push_figure(src: AppContext, server: sync_env.Server, changes: int, repeat: int) -> Figure:
    """``changes`` edits of records the server holds, one ``run_sync()`` timed whole, ``repeat``
    times; the note gives the median CPU of the client and the server for one, and the time to
    the end of the push (the pull, access-log upload and drift check follow)."""
    walls, pushes, client_cpu, server_cpu = [], [], [], []
    for _ in range(repeat):
        n = queue(src, only_held=True, limit=changes)
        assert n == changes, f"the server holds only {n:,} of this clinic's records"
        c0, s0, t0 = time.process_time(), server.cpu(), time.perf_counter()
        with push_clock() as marks:
            ms, result = _sync(src)
        client_cpu.append(time.process_time() - c0)
        server_cpu.append(server.cpu() - s0)
        assert result.pushed == n, (result.pushed, n)
        walls.append(ms)
        pushes.append((marks[0] - t0) * 1000 if marks else ms)
    median = statistics.median
    note = (f"CPU client {median(client_cpu):.1f} s, server {median(server_cpu):.1f} s; "
            f"push part {median(pushes) / 1000:.1f} s")
    if changes != 10_000:
        note += "; budget scaled from 10,000 in 10 s"
    return timed_once(f"sync pushing {changes:,} local changes", 10_000 * changes / 10_000,
                      walls, note=note)


def measure_push(demo_dir: Path, work: Path, store: sync_env.Store, server: sync_env.Server,
                 *, patients: int, changes: int, repeat: int) -> Figure:
    """The push figure alone: a clinic whose first ``patients`` patients' records the server
    holds (pushed first, untimed), then ``push_figure``."""
    work.mkdir(parents=True, exist_ok=True)
    clinic = sync_env.new_clinic(store.url, "Bench clinic")
    with closing(copy_clinic(demo_dir, work / "source", "source")) as src:
        src.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=server.url, code=sync_env.enrolment_code(store.url, clinic),
            device_name="bench source")
        queue(src, patients=patients)
        _sync(src)
        return push_figure(src, server, changes, repeat)


def measure(demo_dir: Path, work: Path, scale: SyncScale, store: sync_env.Store,
            server: sync_env.Server, *, keep_resources: int) -> ClientRun:
    """The client figures, on one clinic of ``server`` (its store ``store``, migrated)."""
    run = ClientRun()
    work.mkdir(parents=True, exist_ok=True)
    clinic = sync_env.new_clinic(store.url, "Bench clinic")
    with closing(copy_clinic(demo_dir, work / "source", "source")) as src:
        src.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=server.url, code=sync_env.enrolment_code(store.url, clinic),
            device_name="bench source")
        queued = queue(src, patients=scale.patients)
        ms, result = _sync(src)
        run.figures.append(Figure(
            f"first sync of a clinic: push {queued:,} records", "-", queued / ms * 1000,
            None, "/s", None, note=f"{result.pushed:,} applied in {ms / 1000:.1f} s"))

        run.figures.append(push_figure(src, server, scale.push_changes, scale.push_repeat))

        noop = [_sync(src)[0] for _ in range(scale.noop_repeat + 1)][1:]
        run.figures.append(timed_once("sync with nothing to do", 100, noop))

        key_code = src.sync.issue_clinic_key_code(  # type: ignore[attr-defined]
            actor(src, Role.CLINIC_ADMIN))
        token = src.sync.keystore.get(  # type: ignore[attr-defined]
            src.sync._credential_name()).decode()  # type: ignore[attr-defined]
        run.resources = pulled_resources(server.url, token, keep_resources)

    pull = first_pull(server, sync_env.enrolment_code(store.url, clinic), key_code,
                      work / "fresh")
    run.figures.append(rate_figure(
        f"first pull of a new workstation ({pull.pulled:,} resources)", 5000, pull.rates,
        overall=pull.pulled / pull.seconds,
        note=f"{pull.seconds:.1f} s to hold them all; the whole first sync (its access log "
             f"uploaded, drift check) {pull.whole_ms / 1000:.1f} s; p95 column: slowest pages"))
    shutil.rmtree(work, ignore_errors=True)
    return run
