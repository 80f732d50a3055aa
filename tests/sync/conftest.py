"""Two workstations of one clinic against the real sync server (uvicorn on 127.0.0.1).

The server runs once per test session in a subprocess bounded by ``timeout`` (it stops by
itself even if the test process dies); each test gets a clinic of its own on it, and fresh
copies of the template clinic with distinct workstation ids, all enrolled:
``make_workstations(n)`` for n of them, ``workstations()`` for two.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.ids import new_id
from pms_desktop.domain.session import StaffSession
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.store.models import Clinic, StaffUser, Workstation
from pms_desktop.store.outbox import record_change
from pms_desktop.sync.transport import SyncClient
from sync_server.cli import main as server_cli
from tests.readiness import stop, wait_ready
from tests.reliability.figures import LONG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert server_cli(["admin", *args]) == 0
    return out.getvalue().strip().splitlines()[-1]


@dataclass
class SyncServer:
    url: str
    data: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "sync_server", "serve", "--data-dir", str(self.data),
                   "--host", "127.0.0.1", "--port", str(self.port)]
        if shutil.which("timeout"):
            # A bound on the whole session (the server stops even if pytest dies): long
            # enough for a loaded CI machine and for the long reliability run.
            command = ["timeout", "14400" if LONG else "1800", *command]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603
                                     stderr=subprocess.DEVNULL)
        self.wait_ready(30, 0.1)

    def wait_ready(self, seconds: float, poll: float) -> None:
        """Until the started server answers ``/readyz``: fails if it exits, or spends
        ``seconds`` of processor time (five times that on the clock) without answering
        (``tests.readiness``: a bound on the clock failed healthy starts on a busy machine)."""
        assert self.proc is not None
        wait_ready(self.proc, self.url, cpu_seconds_allowed=seconds, poll=poll,
                   what="the sync server")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, grace=10)
            self.proc = None

    def new_clinic(self, name: str) -> str:
        return _admin("clinic-add", "--data-dir", str(self.data), name)

    def enrol_code(self, clinic_id: str) -> str:
        return _admin("enrol-code", "--data-dir", str(self.data), "--clinic", clinic_id)


@pytest.fixture(scope="session")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    port = _free_port()
    server = SyncServer(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("server"), port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    """The fault tests' own server, which they kill and restart (tests/sync/fault_support.py)."""
    from tests.sync.fault_support import KillableServer

    port = _free_port()
    server = KillableServer(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("fault-server"),
                            port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxies(fault_server: SyncServer) -> Iterator[tuple[object, object]]:
    """Two fault proxies (tests/sync/fault_proxy.py) in front of ``fault_server``: the first
    for the workstation the faults hit, the second for the other one."""
    from tests.sync.fault_proxy import FaultProxy

    with FaultProxy(fault_server.port) as pa, FaultProxy(fault_server.port) as pb:
        yield pa, pb


@dataclass
class Workstation_:
    ctx: AppContext
    actor: StaffSession
    name: str

    @property
    def sync(self):  # type: ignore[no-untyped-def]
        return self.ctx.sync  # type: ignore[attr-defined]

    def as_user(self, username: str) -> StaffSession:
        """A session of another staff member on this workstation ("drkelly" writes notes)."""
        return _actor(self.ctx, username)


def _copy(template: tuple[Path, bytes], target: Path, name: str) -> AppContext:
    source, key = template
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock"))
    info = KeyInfo.load(target)
    info.database_id = new_id()
    info.save(target)
    KeyStore().put(info.keyring_name, key)
    db = ClinicDatabase.open(target)
    with db.sessions()() as s, s.begin():  # a workstation of its own, as a new install has
        clinic_id = s.scalars(select(Clinic.id)).one()
        for ws in s.scalars(select(Workstation)):
            ws.is_local = False
        ws = Workstation(clinic_id=clinic_id, name=name, series_code=name[:1].upper() + "X",
                         is_local=True, created_at=datetime.now(UTC))
        s.add(ws)
        s.flush()
        record_change(s, ws, user_id=None)  # queued, as set-up does: the clinic learns its code
    return build_context(db)


def _actor(ctx: AppContext, username: str = "paul") -> StaffSession:
    with ctx.db.sessions()() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return StaffSession(user_id=user.id, username=user.username,
                            display_name=user.display_name, role=Role(user.role),
                            workstation_id=ctx.core.workstation_id,
                            signed_in_at=datetime.now(UTC), practitioner_id=user.practitioner_id)


_ADDRESSES = itertools.count(1)


@pytest.fixture(autouse=True)
def _own_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's enrolments come from addresses of their own (a test module that enrols a
    few workstations a test met the server's 10-a-minute limit: 429 in test_sync_first_pull)."""
    _enrol_from_own_addresses(monkeypatch)


def _enrol_from_own_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each enrolment comes from an address of its own, as in a clinic (the proxy header of
    a trusted loopback peer): the server allows an address 10 enrolments a minute and 100 an
    hour, which a suite making hundreds of workstations would exhaust."""
    original = SyncClient.enrol
    addresses = _ADDRESSES  # one count for the whole process: tests follow each other quickly

    def enrol(self: SyncClient, code: str, device_name: str):  # type: ignore[no-untyped-def]
        n = next(addresses)
        self._http.headers["X-Forwarded-For"] = f"10.{os.getpid() % 250}.{n // 250}.{n % 250}"
        return original(self, code, device_name)

    monkeypatch.setattr(SyncClient, "enrol", enrol)


NAMES = ("alpha", "bravo", "charlie", "delta", "echo")


@pytest.fixture
def make_workstations(_template: tuple[Path, bytes], tmp_path: Path, sync_server: SyncServer,
                      monkeypatch: pytest.MonkeyPatch
                      ) -> Iterator[Callable[[int], list[Workstation_]]]:
    """``make_workstations(n)``: n enrolled workstations of one fresh clinic on the server."""
    made: list[AppContext] = []

    def make(n: int) -> list[Workstation_]:
        assert 1 <= n <= len(NAMES)
        clinic = sync_server.new_clinic(f"Clinic {new_id()[:8]}")
        tag = new_id()[:6]  # a test may make several clinics
        out = []
        # The clinic key: made by the first, received by each other with a code of its own
        # (a code opens the key for one workstation), issued on the first.
        key_code = None
        for name in NAMES[:n]:
            ctx = _copy(_template, tmp_path / f"{name}-{tag}", name)
            made.append(ctx)
            ctx.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                                  code=sync_server.enrol_code(clinic), device_name=name,
                                  clinic_key_code=key_code)
            first: AppContext = out[0].ctx if out else ctx
            if key_code is None or len(out) + 1 < n:
                key_code = first.sync.issue_clinic_key_code(_actor(first, "admin"))  # type: ignore[attr-defined]
            out.append(Workstation_(ctx, _actor(ctx), name))
        return out

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def workstations(make_workstations: Callable[[int], list[Workstation_]]
                 ) -> Callable[[], tuple[Workstation_, Workstation_]]:
    """Two enrolled workstations of a fresh clinic on the server."""

    def make() -> tuple[Workstation_, Workstation_]:
        a, b = make_workstations(2)
        return a, b

    return make
