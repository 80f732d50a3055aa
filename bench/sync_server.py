"""Server figures: ingest rate on SQLite and PostgreSQL, and 20 clinics pushing at once.

The resources are real ones (what the client pushed in ``sync_client``, as the server holds
them), pushed over HTTP to a server started for the figure (``sync_env.running_server``) in
batches of 1,000 (the protocol's largest push). On PostgreSQL the server runs two workers (the
machine's two cores) and two clinics push at once; SQLite runs one worker (it has one writer).
The 20-clinic figure: 20 clinics each push 100 changes at the same moment, several rounds, on
PostgreSQL; its p95 is over every push. Every pushing connection first pushes a few changes,
untimed, so that the worker it landed on is warm (its FHIR models loaded, its validation shapes
known), as in a server that has been running.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from . import sync_env
from .harness import Figure, p95
from .sync_client import rate_figure


@dataclass(frozen=True)
class ServerScale:
    ingest: int  # resources pushed per backend
    clinics: int
    rounds: int  # pushes of 100 changes per clinic


QUICK = ServerScale(ingest=1000, clinics=20, rounds=1)
FULL = ServerScale(ingest=20_000, clinics=20, rounds=10)


def changes(pool: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` new resources (new ids, otherwise the pool's) as push changes."""
    out = []
    for i in range(n):
        resource = {k: v for k, v in pool[i % len(pool)].items() if k != "meta"}
        resource["id"] = str(uuid.uuid4())
        out.append({"change_id": str(uuid.uuid4()), "resource_type": resource["resourceType"],
                    "resource_id": resource["id"], "op": "upsert", "base_version": None,
                    "resource": resource})
    return out


def bodies(pool: list[dict[str, Any]], n: int, size: int) -> list[tuple[int, bytes]]:
    """Push requests of ``size`` new changes, ``n`` in all, encoded before any clock starts."""
    work = changes(pool, n)
    return [(len(work[i:i + size]), json.dumps({"changes": work[i:i + size]}).encode())
            for i in range(0, n, size)]


@contextmanager
def client(base_url: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=120,
                      headers={"Authorization": f"Bearer {token}",
                               "Content-Type": "application/json"}) as http:
        yield http


def push(http: httpx.Client, body: bytes) -> float:
    """One push; its wall time in ms. Every change must be applied."""
    return traced_push(http, body)[0]


def traced_push(http: httpx.Client, body: bytes) -> tuple[float, int]:
    """One push: its wall time in ms and the local port of the connection it went over."""
    t0 = time.perf_counter()
    answer = http.post("/sync/push", content=body)
    ms = (time.perf_counter() - t0) * 1000
    answer.raise_for_status()
    bad = [r for r in answer.json()["results"] if r["status"] != "applied"]
    assert not bad, bad[0]
    return ms, int(answer.extensions["network_stream"].get_extra_info("client_addr")[1])


def ingest(store: sync_env.Store, server: sync_env.Server, pool: list[dict[str, Any]],
           n: int, *, pushers: int, workers: int) -> Figure:
    devices = sync_env.new_devices(store.url, [f"Ingest {i}" for i in range(pushers)])
    shares = [bodies(pool, n // pushers, 1000) for _ in devices]
    rates: list[float] = []
    warm = [bodies(pool, 100, 100)[0][1] for _ in devices]
    ready = threading.Barrier(len(devices) + 1)

    def pusher(device: sync_env.Device, mine: list[tuple[int, bytes]], first: bytes) -> None:
        with client(server.url, device.token) as http:
            push(http, first)  # warm, on this connection's worker: models loaded, pool filled
            ready.wait(timeout=120)
            for count, body in mine:
                rates.append(count / push(http, body) * 1000 * pushers)

    threads = [threading.Thread(target=pusher, args=job, daemon=True)
               for job in zip(devices, shares, warm, strict=True)]
    for t in threads:
        t.start()
    ready.wait(timeout=120)
    cpu0, t0 = server.cpu(), time.perf_counter()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a pusher did not finish in 10 minutes"
    overall, cpu = n / (time.perf_counter() - t0), server.cpu() - cpu0
    note = (f"{workers} worker(s), {pushers} clinic(s) pushing 1,000 at a time; server CPU "
            f"{cpu / n * 1000:.2f} ms a resource; p95 column: slowest batches")
    if store.label != "PostgreSQL":  # the budget names PostgreSQL; SQLite is reported
        return Figure(f"server ingest, {store.label} ({n:,} resources)", "(reported)", overall,
                      sorted(rates)[max(0, int(round(0.05 * (len(rates) - 1))))] if rates
                      else None, "/s", None, note)
    return rate_figure(f"server ingest, {store.label} ({n:,} resources)", 2000, rates,
                       overall=overall, note=note)


def clinics_at_once(store: sync_env.Store, server: sync_env.Server,
                    pool: list[dict[str, Any]], scale: ServerScale) -> Figure:
    devices = sync_env.new_devices(store.url, [f"Clinic {i}" for i in range(scale.clinics)])
    work = [bodies(pool, 100 * scale.rounds, 100) for _ in devices]
    warm = [bodies(pool, 20, 20)[0][1] for _ in devices]
    times: list[float] = []
    rounds: list[int] = []  # the round (0, 1, ...) of each timed push, in the same order
    ports: list[int] = []  # the local port of each timed push's connection
    owner: dict[int, int] = {}  # the server process serving each of those connections
    lock = threading.Lock()
    start = threading.Barrier(len(devices) + 1)

    def trace(port: int) -> None:
        # Right after an answer: an idle connection is closed by the server after a while.
        if port not in owner:
            owner.update(server.serving_pids([port]))

    def clinic(device: sync_env.Device, mine: list[tuple[int, bytes]], first: bytes) -> None:
        with client(server.url, device.token) as http:
            try:
                # Connected, authenticated and its worker warm (a server that has been
                # running) before the start: a first push of 20 changes, not timed.
                trace(traced_push(http, first)[1])
                start.wait(timeout=120)
                for number, (_count, body) in enumerate(mine):
                    ms, port = traced_push(http, body)
                    with lock:
                        times.append(ms)
                        rounds.append(number)
                        ports.append(port)
                    trace(port)  # only a new connection is looked up
            except BaseException:
                start.abort()
                raise

    threads = [threading.Thread(target=clinic, args=job, daemon=True)
               for job in zip(devices, work, warm, strict=True)]
    for t in threads:
        t.start()
    start.wait(timeout=120)
    cpu0, pg0, own0 = server.cpu_by_process(), database_work(store.url), time.process_time()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a clinic did not finish in 10 minutes"
    cpu1, pg1, own = server.cpu_by_process(), database_work(store.url), time.process_time()
    cpu = sum(cpu1.values()) - sum(cpu0.values())
    q = p95(times)
    return Figure(f"{scale.clinics} clinics syncing at once: a 100-change push", "p95 < 500 ms",
                  statistics.median(times), q, "ms", q < 500,
                  note=f"PostgreSQL, 2 workers; {len(times)} pushes, each clinic's back to back "
                       f"from the same start; server CPU {cpu / len(times) * 1000:.1f} ms a push"
                       f"{database_note(pg0, pg1, len(times))}, the clinics' own (this "
                       f"process) {(own - own0) / len(times) * 1000:.0f} ms; "
                       + in_step(times, rounds) + "; " + spread(ports, owner, cpu0, cpu1))


def in_step(times: list[float], rounds: list[int]) -> str:
    """The first round's pushes (the clinics all start it at the same moment) against the
    later ones (spread by then), and how many of the slowest 5 % are first-round ones."""
    first = [ms for ms, r in zip(times, rounds, strict=True) if r == 0]
    later = [ms for ms, r in zip(times, rounds, strict=True) if r > 0]
    if not first or not later:
        return "one round"
    slowest = sorted(zip(times, rounds, strict=True), reverse=True)[:max(1, len(times) // 20)]
    return (f"round 1 median {statistics.median(first):.0f} ms, later rounds median "
            f"{statistics.median(later):.0f} ms, p95 {p95(later):.0f} ms; "
            f"{sum(1 for _, r in slowest if r == 0)} of the slowest {len(slowest)} in round 1")


@dataclass(frozen=True)
class DatabaseWork:
    """PostgreSQL's side of a figure so far: the sessions ever opened on the figure's database,
    and the CPU seconds of each backend serving it now (the database runs on the same cores)."""

    sessions: int
    cpu: dict[int, float]


def database_work(url: str) -> DatabaseWork | None:
    """``DatabaseWork`` of the database at ``url`` (PostgreSQL on this machine; Linux), or None
    when it cannot be read."""
    import psycopg

    try:
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True,
                             connect_timeout=3) as conn:
            sessions = conn.execute("SELECT sessions FROM pg_stat_database "
                                    "WHERE datname = current_database()").fetchone()
            pids = [pid for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")]
    except psycopg.Error:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    return DatabaseWork(int(sessions[0]) if sessions else 0, cpu)


def database_note(before: DatabaseWork | None, after: DatabaseWork | None, pushes: int) -> str:
    """The database's CPU a push (backends alive at the end; one that ended during the
    figure is not counted) and the connections opened meanwhile."""
    if before is None or after is None:
        return ""
    cpu = sum(s - before.cpu.get(pid, 0.0) for pid, s in after.cpu.items())
    return (f", PostgreSQL backends {cpu / pushes * 1000:.1f} ms a push "
            f"({after.sessions - before.sessions} connections opened)")


def spread(ports: list[int], owner: dict[int, int], cpu0: dict[int, float],
           cpu1: dict[int, float]) -> str:
    """Pushes and CPU seconds per server process (a push whose connection was not found
    counts under '?')."""
    pushes = Counter(str(owner.get(port, "?")) for port in ports)
    used = {pid: cpu1[pid] - cpu0[pid] for pid in cpu1 if pid in cpu0}
    busy = {str(pid): s for pid, s in used.items() if s >= 0.01}
    return "pushes by worker pid " + ", ".join(
        f"{pid}: {n} ({busy.get(pid, 0.0):.2f} s CPU)" for pid, n in sorted(pushes.items())) + (
        "; others " + ", ".join(f"{pid}: {s:.2f} s" for pid, s in sorted(busy.items())
                                if pid not in pushes) if set(busy) - set(pushes) else "")


def measure_postgres(pool: list[dict[str, Any]], scale: ServerScale) -> list[Figure]:
    """Ingest and 20 clinics at once on PostgreSQL: one server with two workers (2 cores)."""
    with sync_env.postgres_store() as pg:
        if pg is None:
            return [Figure("server ingest, PostgreSQL", ">= 2000/s", None, None, "/s", False,
                           note="PostgreSQL at 127.0.0.1:5432 unreachable")]
        sync_env.migrate(pg.url)
        with sync_env.running_server(pg.url, workers=2) as server:
            return [ingest(pg, server, pool, scale.ingest, pushers=2, workers=2),
                    clinics_at_once(pg, server, pool, scale)]
