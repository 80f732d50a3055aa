"""What the sync fault tests share: a clinic pair, a workload whose every edit is recognisable,
the crash runner, and the checks that count lost and duplicated changes.

A *pair* is a fresh clinic on the server with two enrolled workstations made from the test
template, each talking to the server through a fault proxy of its own: ``a``'s is where the
tests put their faults, ``b``'s mostly passes everything. The *workload* makes edits that are
each unique (new patients with their own family name, ``a`` moving patients to a new city,
``b`` changing their email, bookings at distinct times), so that one edit applied twice shows
up on the server as two identical versions in a row, and an edit lost shows up as a value
missing at the end.

:func:`findings` is the verdict after convergence: both workstations' FHIR exports are equal,
every resource the server holds equals the workstations' copy, every expected value is there,
no resource has two identical versions in a row, no family name is held twice, and the server
holds the workstation's access log up to where the last sync started.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import multiprocessing
import multiprocessing.context
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.fhir.bundle_export import write_bundle
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import (
    Appointment,
    AuditEntry,
    OutboxChange,
    Patient,
    Practitioner,
    SyncConflict,
)
from pms_desktop.sync import sync_state as st
from pms_desktop.sync.transport import SyncClient, SyncOffline, TransportSettings
from sync_server.settings import ENV_SETTINGS, Settings, sqlite_url
from tests.sync.conftest import SyncServer, Workstation_, _actor, _admin, _copy
from tests.sync.fault_proxy import FaultProxy

Json = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
KEYRING_ENV = ("PYTHON_KEYRING_BACKEND", "XDG_DATA_HOME")
FIRST_DAY = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)  # a Monday, inside opening hours


# -- a server that can be killed -----------------------------------------------------------------


class KillableServer(SyncServer):
    """The real server under uvicorn (``tests.sync.killing_server``), which SIGKILLs itself at
    the point :meth:`arm` names; or killed from outside. Restarted on the same data and port.
    Its store is SQLite in ``data`` unless ``database_url`` names another (PostgreSQL)."""

    database_url: str | None = None

    @property
    def store_url(self) -> str:
        return self.database_url or sqlite_url(self.data)

    def new_clinic(self, name: str) -> str:
        return _admin("clinic-add", "--database-url", self.store_url, name)

    def enrol_code(self, clinic_id: str) -> str:
        return _admin("enrol-code", "--database-url", self.store_url, "--clinic", clinic_id)

    @property
    def kill_file(self) -> Path:
        return self.data / "kill-at"

    def arm(self, point: str, n: int) -> None:
        self.kill_file.write_text(f"{point} {n}")

    def disarm(self) -> None:
        self.kill_file.unlink(missing_ok=True)

    def start(self) -> None:
        from tests.sync.killing_server import ENV_KILL_FILE

        self.disarm()
        settings = Settings(database_url=self.store_url)
        env = {**os.environ, ENV_SETTINGS: settings.to_env(), ENV_KILL_FILE: str(self.kill_file),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = ["timeout", "900", sys.executable, "-m", "uvicorn",
                   "tests.sync.killing_server:factory", "--factory", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env,  # noqa: S603
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.wait_ready(60, 0.05)

    def integrity_problems(self) -> list[str]:
        """SQLite's own check of the store (after a kill); PostgreSQL keeps its own."""
        if self.database_url is not None:
            return []
        rows = _store_rows(self, "PRAGMA integrity_check")
        return [str(r[0]) for r in rows if r[0] != "ok"]

    def died(self, timeout: float = 2.0) -> bool:
        """True when the server killed itself (SIGKILL); reaps it."""
        if self.proc is None:
            return False
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        self.proc = None
        # ``timeout`` reports its child's signal as 128 + n, or dies of it itself.
        return code in (-signal.SIGKILL, 128 + signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the server (and the ``timeout`` that bounds it: their own process group)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


# -- a pair of workstations ---------------------------------------------------------------------


@dataclass
class Pair:
    a: Workstation_
    b: Workstation_
    clinic_id: str
    folder: Path

    def reopen_a(self) -> None:
        """Restart ``a`` (after its process was killed): a fresh context on the same folder."""
        self.a.ctx.close()
        ctx = build_context(ClinicDatabase.open(self.a.ctx.data_dir))
        self.a = Workstation_(ctx, _actor(ctx), self.a.name)

    def close(self) -> None:
        for ws in (self.a, self.b):
            ws.ctx.close()


_addresses = itertools.count(1)


def make_pair(template: tuple[Path, bytes], folder: Path, server: SyncServer,
              proxies: tuple[FaultProxy, FaultProxy], *, with_key: bool = True) -> Pair:
    """A fresh clinic; ``a`` talks to the server through ``proxies[0]``, ``b`` through
    ``proxies[1]``, each proxy passing on an address of its own for the new workstation (two
    machines of the clinic: the server limits enrolments per address). ``with_key``: ``a``
    makes the clinic key and ``b`` receives it at enrolment; else neither holds it yet."""
    clinic = server.new_clinic(f"Fault clinic {folder.name}")
    out = []
    key_code = None  # the clinic key: made by the first workstation, received by the second
    for name, proxy in zip(("alpha", "bravo"), proxies, strict=True):
        n = next(_addresses)
        proxy.client_address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        ctx = _copy(template, folder / name, name)
        ctx.sync.enrol_device(server_url=proxy.url,  # type: ignore[attr-defined]
                              code=server.enrol_code(clinic), device_name=name,
                              clinic_key_code=key_code)
        if key_code is None and with_key:
            key_code = ctx.sync.issue_clinic_key_code(_actor(ctx, "admin"))  # type: ignore[attr-defined]
        out.append(Workstation_(ctx, _actor(ctx), name))
    return Pair(out[0], out[1], clinic, folder)


def remove_pair(pair: Pair) -> None:
    pair.close()
    shutil.rmtree(pair.folder, ignore_errors=True)


# -- the workload ---------------------------------------------------------------------------------


@dataclass
class Workload:
    """Unique edits and what each workstation should hold at the end."""

    rng: random.Random
    tag: str
    families: dict[str, str] = field(default_factory=dict)  # patient id -> family name
    city: dict[str, str] = field(default_factory=dict)  # patient id -> a's last city
    email: dict[str, str] = field(default_factory=dict)  # patient id -> b's last email
    starts: dict[str, datetime] = field(default_factory=dict)  # appointment id -> start
    count: int = 0
    edits: int = 0

    def _next(self) -> int:
        self.count += 1
        return self.count

    def new_patients(self, ws: Workstation_, k: int) -> None:
        for _ in range(k):
            n = self._next()
            family = f"{self.tag}Fam{n}"
            draft = PatientDraft(given="Faulty", family=family, birth_date="1980-01-01",
                                 sex="female", city=f"Start{n}")
            pid = ws.ctx.patients.register_patient(ws.actor, draft=draft).id  # type: ignore[attr-defined]
            self.families[pid], self.city[pid] = family, f"Start{n}"
            self.edits += 1

    def _held(self, ws: Workstation_) -> list[str]:
        with ws.ctx.db.sessions()() as s:
            ids = set(s.scalars(select(Patient.id)))
        return sorted(p for p in self.families if p in ids)

    def move(self, ws: Workstation_, k: int) -> None:
        """Change the city of ``k`` held patients (``a``'s kind of edit)."""
        self._edit(ws, k, "city", self.city, lambda n: f"City{n}")

    def re_email(self, ws: Workstation_, k: int) -> None:
        """Change the email of ``k`` held patients (workstation ``b``'s kind of edit: another
        FHIR element than ``a``'s, so that both merge without a conflict)."""
        self._edit(ws, k, "email", self.email, lambda n: f"patient{n}@example.org")

    def _edit(self, ws: Workstation_, k: int, name: str, expect: dict[str, str],
              value: Callable[[int], str]) -> None:
        held = self._held(ws)
        for pid in self.rng.sample(held, min(k, len(held))):
            patients: Any = ws.ctx.patients
            draft = patients.get_patient(ws.actor, patient_id=pid).draft
            new = value(self._next())
            patients.update_patient(ws.actor, patient_id=pid, draft=replace(draft, **{name: new}))
            expect[pid] = new
            self.edits += 1

    def book(self, ws: Workstation_, k: int) -> None:
        held = self._held(ws)
        with ws.ctx.db.sessions()() as s:
            practitioner = s.scalars(select(Practitioner.id)).first()
        for _ in range(k):
            slot = self._next()
            start = FIRST_DAY + timedelta(days=7 * (slot // 20), minutes=15 * (slot % 20))
            appointment = ws.ctx.scheduling.book(  # type: ignore[attr-defined]
                ws.actor, patient_id=self.rng.choice(held), practitioner_id=practitioner,
                start_at=start, duration_minutes=15)
            self.starts[appointment.id] = start
            self.edits += 1


# -- syncing ------------------------------------------------------------------------------------


def try_sync(ws: Workstation_) -> bool:
    """One sync; False when the server could not be reached (nothing is lost then)."""
    try:
        ws.sync.run_sync()
    except SyncOffline:
        return False
    return True


def converge(pair: Pair, rounds: int = 4) -> None:
    """Sync both until neither has anything left to give the other."""
    for _ in range(rounds):
        pair.a.sync.run_sync()
        if pair.b.sync.run_sync().pushed == 0 and pending(pair.a) == pending(pair.b) == 0:
            return
    raise AssertionError(f"no convergence after {rounds} rounds of syncs")


def pending(ws: Workstation_) -> int:
    return int(ws.sync.device_status().pending_changes)


# -- the crash runner ---------------------------------------------------------------------------


class CrashRunner:
    """Runs ``crash_client.run`` in children forked from one fork server (imports done once)."""

    def __init__(self) -> None:
        self.mp = multiprocessing.get_context("forkserver")
        self.mp.set_forkserver_preload(["tests.sync.crash_client"])

    def start(self, data_dir: Path, point: str, n: int, *, push_batch: int = 4,
              pull_page: int = 3) -> multiprocessing.process.BaseProcess:
        from tests.sync import crash_client

        env = {k: os.environ[k] for k in KEYRING_ENV if k in os.environ}
        child = self.mp.Process(target=crash_client.run,
                                args=(str(data_dir), point, n, push_batch, pull_page, env),
                                daemon=True)
        child.start()
        return child


def wait_for(child: multiprocessing.process.BaseProcess, timeout: float = 60.0) -> int:
    """The child's exit code (negative: killed by that signal); killed if it overstays."""
    child.join(timeout)
    if child.exitcode is None:
        child.kill()
        child.join(10)
        raise AssertionError(f"the crash client did not finish within {timeout} s")
    return int(child.exitcode)


def wait_for_pid(holder: dict[str, int], timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while "pid" not in holder:
        if time.monotonic() > deadline:
            raise AssertionError("no child to kill")
        time.sleep(0.001)
    return holder["pid"]


# -- the verdict --------------------------------------------------------------------------------


@dataclass
class Findings:
    lost: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    def lose(self, what: str) -> None:
        self.lost += 1
        self.problems.append("lost: " + what)

    def duplicate(self, what: str) -> None:
        self.duplicates += 1
        self.problems.append("duplicate: " + what)


@dataclass
class Tally:
    """What a fault test did and found, for ``tests.reliability.figures.record``."""

    trials: int = 0
    faults: int = 0
    lost: int = 0
    duplicates: int = 0
    corruptions: int = 0
    problems: list[str] = field(default_factory=list)

    def found(self, where: str, findings: Findings) -> None:
        self.lost += findings.lost
        self.duplicates += findings.duplicates
        if findings.problems:
            self.problems += [where, *findings.problems]

    def corrupt(self, where: str, problems: list[str]) -> None:
        if problems:
            self.corruptions += 1
            self.problems.append(f"{where}: damaged store: {problems}")

    def record(self, area: str) -> None:
        from tests.reliability.figures import record

        record(area, trials=self.trials, faults=self.faults, lost=self.lost,
               duplicates=self.duplicates, corruptions=self.corruptions)


def bundle(ctx: AppContext) -> dict[str, Json]:
    """The workstation's FHIR export, by ``Type/id``."""
    out = io.StringIO()
    with ctx.db.sessions()() as s:
        write_bundle(s, out)
    entries = json.loads(out.getvalue()).get("entry", [])
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
            for e in entries}


def synced(ctx: AppContext) -> dict[str, Json]:
    """Every synced record (one with a server version) as the resource the workstation would
    push (staff credentials sealed under the clinic key), by ``Type/id``: what the server must
    hold. (The test template has rows made before any sync, outside the outbox: not these.)"""
    rmap = ctx.sync.rmap  # type: ignore[attr-defined]
    out: dict[str, Json] = {}
    with ctx.db.sessions()() as s:
        for table in rmap.tables:
            model = rmap.model(table)
            for rid in s.scalars(select(model.id).where(model.server_version.is_not(None))):
                resource = rmap.resource_for(s, table, rid)
                out[f"{resource['resourceType']}/{rid}"] = resource
    return out


def _plain(resource: Json | None) -> Json | None:
    if resource is None:
        return None
    return {k: v for k, v in resource.items() if k != "meta"}


def _store_rows(server: SyncServer, sql: str, **params: str) -> list[Any]:
    url = getattr(server, "store_url", None) or sqlite_url(server.data)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def _differences(one: Json | None, other: Json | None) -> str:
    if one is None or other is None:
        return "held by " + ("the second only" if one is None else "the first only")
    names = sorted(k for k in set(one) | set(other) if one.get(k) != other.get(k))
    return "; ".join(f"{k}: {one.get(k)!r} != {other.get(k)!r}" for k in names)[:400]


def server_history(server: SyncServer, clinic_id: str) -> dict[str, list[tuple[int, Json | None]]]:
    """Every stored version of every resource of the clinic except AuditEvents."""
    rows = _store_rows(server, "SELECT resource_type, resource_id, version, content "
                               "FROM resource_versions WHERE clinic_id = :clinic "
                               "AND resource_type != 'AuditEvent' "
                               "ORDER BY resource_type, resource_id, version", clinic=clinic_id)
    out: dict[str, list[tuple[int, Json | None]]] = {}
    for rtype, rid, version, content in rows:
        out.setdefault(f"{rtype}/{rid}", []).append(
            (int(version), _plain(json.loads(content)) if content else None))
    return out


def server_audit(server: SyncServer, device_id: str) -> dict[int, str]:
    rows = _store_rows(server, "SELECT seq, hash FROM audit_entries WHERE device_id = :device",
                       device=device_id)
    return {int(seq): str(digest) for seq, digest in rows}


def local_audit(ctx: AppContext) -> dict[int, str]:
    with ctx.db.sessions()() as s:
        return {int(seq): h for seq, h in s.execute(select(AuditEntry.seq, AuditEntry.hash))}


def findings(pair: Pair, server: SyncServer, work: Workload, *,
             audit_before: dict[int, str] | None = None) -> Findings:
    """Count what was lost or duplicated once both workstations have converged."""
    f = Findings()
    held_a, held_b = bundle(pair.a.ctx), bundle(pair.b.ctx)
    for key in sorted(set(held_a) | set(held_b)):
        one, other = _plain(held_a.get(key)), _plain(held_b.get(key))
        if one != other:
            f.lose(f"{key} differs between the workstations: {_differences(one, other)}")
    history = server_history(server, pair.clinic_id)
    mine = synced(pair.a.ctx)
    for key in sorted(set(mine) - set(history)):
        f.lose(f"{key} is not on the server")
    for key, versions in history.items():
        numbers = [v for v, _ in versions]
        if numbers != list(range(1, len(numbers) + 1)):
            f.problems.append(f"{key}: versions {numbers} are not 1..n")
        for (v1, c1), (v2, c2) in zip(versions, versions[1:], strict=False):
            if c1 is not None and c1 == c2:
                f.duplicate(f"{key} versions {v1} and {v2} are the same change")
        current = versions[-1][1]
        if current is not None and key in mine and current != _plain(mine[key]):
            f.lose(f"{key}: the server's current version differs from the workstations'")
    families: dict[str, list[str]] = {}
    for key, versions in history.items():
        if key.startswith("Patient/") and versions[-1][1] is not None:
            for name in versions[-1][1].get("name", []):
                families.setdefault(str(name.get("family")), []).append(key)
    for family in work.families.values():
        if len(families.get(family, [])) > 1:
            f.duplicate(f"patient {family} is held {len(families[family])} times")
    _expected_values(pair, work, f)
    for ws in (pair.a, pair.b):
        with ws.ctx.db.sessions()() as s:
            left = s.scalar(select(func.count()).select_from(OutboxChange).where(
                OutboxChange.status != OutboxStatus.SENT)) or 0
            conflicts = s.scalars(select(SyncConflict)).all()
        if left:
            f.problems.append(f"{ws.name}: {left} changes still pending or quarantined")
        for c in conflicts:
            f.problems.append(f"{ws.name}: unexpected {c.kind} conflict on {c.resource_type} "
                              f"{c.field}: {c.detail}")
    if audit_before is not None:
        with pair.a.ctx.db.sessions()() as s:
            device = st.get(s, st.DEVICE_ID)
        shipped = server_audit(server, str(device))
        for seq, digest in audit_before.items():
            if shipped.get(seq) != digest:
                f.lose(f"access-log entry {seq} of {pair.a.name} is not on the server as written")
    return f


def _expected_values(pair: Pair, work: Workload, f: Findings) -> None:
    for ws in (pair.a, pair.b):
        with ws.ctx.db.sessions()() as s:
            patients = {p.id: p for p in s.scalars(select(Patient).where(
                Patient.id.in_(list(work.families))))}
            appointments = {a.id: a for a in s.scalars(select(Appointment).where(
                Appointment.id.in_(list(work.starts))))}
            for pid, family in work.families.items():
                p = patients.get(pid)
                if p is None:
                    f.lose(f"patient {family} is not on {ws.name}")
                    continue
                if p.city != work.city[pid]:
                    f.lose(f"{ws.name}: {family} city {p.city!r}, expected {work.city[pid]!r}")
                if pid in work.email and p.email != work.email[pid]:
                    f.lose(f"{ws.name}: {family} email {p.email!r}, expected {work.email[pid]!r}")
            for aid, start in work.starts.items():
                a = appointments.get(aid)
                if a is None or a.start_at.replace(tzinfo=UTC) != start:
                    f.lose(f"appointment at {start} is not on {ws.name} as booked")


def device_client(ws: Workstation_, url: str) -> SyncClient:
    """The workstation's own device credential in a plain client (to speak to the server as
    that device, bypassing its engine)."""
    service = ws.sync
    token = service.keystore.get(service._credential_name())
    assert token is not None
    return SyncClient(TransportSettings(url, retries=0), token.decode())


def pushed_changes(proxy: FaultProxy) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Every change the proxy saw pushed whole, by change id: the distinct canonical bodies
    sent under it, and how many times it was sent."""
    bodies: dict[str, set[str]] = {}
    times: dict[str, int] = {}
    for exchange in proxy.exchanges("/sync/push"):
        if exchange.body is None:
            continue
        for change in json.loads(exchange.body)["changes"]:
            cid = change["change_id"]
            bodies.setdefault(cid, set()).add(
                json.dumps(change, sort_keys=True, separators=(",", ":")))
            times[cid] = times.get(cid, 0) + 1
    return bodies, times
