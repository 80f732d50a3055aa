"""The sync benchmarks' surroundings: a server store, the real server process, enrolled devices.

* ``sqlite_store(folder)`` / ``postgres_store()``: an empty server store. PostgreSQL gets a
  database of its own (``pms_bench_<random>`` on 127.0.0.1:5432, next to ``test``), dropped
  afterwards, so the test suite's schemas are never touched; ``None`` when it is unreachable.
* ``running_server(url)``: ``python -m sync_server serve`` on 127.0.0.1 in a subprocess bounded
  by ``timeout`` (it stops by itself if the benchmark dies), ready when ``/readyz`` answers
  (``wait_for_readyz``: bounded by the server's processor time, not the clock).
* ``new_devices(url, names)``: clinics with an enrolled device each, made in-process with the
  server's own use cases (the enrolment endpoint is rate limited per address; 20 clinics would
  hit it).

``PMS_BENCH_PROFILE_SERVER=DIR`` runs every server under ``py-spy record`` (raw stacks in
``DIR/server-PORT.txt``, for ``flamegraph.pl`` or a quick count of the hottest frames;
``PMS_BENCH_PROFILE_RATE`` samples a second, 100 by default).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@dataclass(frozen=True)
class Store:
    label: str  # "SQLite" or "PostgreSQL"
    url: str


@dataclass(frozen=True)
class Device:
    clinic_id: str
    token: str


@contextmanager
def sqlite_store(folder: Path) -> Iterator[Store]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"server-{uuid.uuid4().hex[:8]}.db"
    try:
        yield Store("SQLite", f"sqlite:///{path}")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def postgres_store() -> Iterator[Store | None]:
    import psycopg

    name = f"pms_bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield None
        return
    try:
        yield Store("PostgreSQL", PG_URL.format(name=name))
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _processes() -> dict[int, list[str]]:
    """The fields of ``/proc/PID/stat`` after the command name, by pid (Linux)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as handle:
                out[int(name)] = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
    return out


def _tree(root: int, processes: dict[int, list[str]]) -> set[int]:
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, f in processes.items() if int(f[1]) in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def cpu_by_process(root: int) -> dict[int, float]:
    """CPU time (user + system) used so far by a process and each of its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    processes = _processes()
    return {pid: (int(processes[pid][11]) + int(processes[pid][12])) / tick
            for pid in _tree(root, processes) if pid in processes}


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by a process and all its descendants (Linux)."""
    return sum(cpu_by_process(root).values())


def _tcp_sockets() -> Iterator[tuple[int, int, str, str]]:
    """(local port, remote port, state, 'socket:[inode]') of every TCP socket (Linux)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as handle:
            for line in handle.readlines()[1:]:
                f = line.split()
                yield (int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16), f[3],
                       f"socket:[{f[9]}]")


def _holders(root: int, wanted: set[str]) -> dict[str, set[int]]:
    """The processes of a tree that hold each of the ``wanted`` sockets open."""
    out: dict[str, set[int]] = {}
    for pid in _tree(root, _processes()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in wanted:
                out.setdefault(target, set()).add(pid)
    return out


def serving_pids(root: int, server_port: int, client_ports: list[int]) -> dict[int, int]:
    """Which process of the server's tree holds the server's end of the connection from each
    local port in ``client_ports`` (Linux: the kernel's TCP table and each process's file
    descriptors), by client port; a connection not found is left out."""
    wanted = set(client_ports)
    ends = {inode: remote for local, remote, state, inode in _tcp_sockets()
            if local == server_port and remote in wanted and state == "01"}  # established
    return {ends[inode]: min(pids) for inode, pids in _holders(root, set(ends)).items()}


def listening_pids(root: int, port: int) -> list[set[int]]:
    """The processes of the server's tree that hold each socket listening on ``port``: one
    set per socket (Linux)."""
    listening = {inode for local, _, state, inode in _tcp_sockets()
                 if local == port and state == "0A"}
    return list(_holders(root, listening).values())


@dataclass
class Server:
    url: str
    pid: int

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def cpu_by_process(self) -> dict[int, float]:
        return cpu_by_process(self.pid)

    def serving_pids(self, client_ports: list[int]) -> dict[int, int]:
        return serving_pids(self.pid, self.port, client_ports)

    def listening_pids(self) -> list[set[int]]:
        return listening_pids(self.pid, self.port)


def wait_for_readyz(proc: subprocess.Popen[bytes], base: str, *,
                    cpu_seconds_allowed: float = 30, clock_factor: float = 5,
                    poll: float = 0.1) -> None:
    """Until the server ``proc`` answers ``base/readyz`` with 200. Bounded by the processor
    time the server and its descendants spend without getting ready (a start costs about 1 s;
    on the shared 2-core machine under load that took 16-40 s on the clock, so a fixed bound
    on the clock failed healthy starts), with a hard limit of ``clock_factor`` times that on
    the clock for a server that waits without working: the idea of tests/readiness.py, which
    the bench does not import. ``RuntimeError`` when it exits first (with the tail of its
    stderr, when that is a pipe) or is not ready within the bound."""
    deadline = time.monotonic() + clock_factor * cpu_seconds_allowed
    started = cpu_seconds(proc.pid)
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"the sync server exited with {proc.returncode}: {err}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        spent = cpu_seconds(proc.pid) - started
        if spent >= cpu_seconds_allowed or time.monotonic() >= deadline:
            raise RuntimeError(f"the sync server did not become ready ({spent:.1f} s of "
                               "processor time)")
        time.sleep(poll)


@contextmanager
def running_server(url: str, *, workers: int = 1, lifetime: int = 3600) -> Iterator[Server]:
    """The server on a free loopback port (its URL, and its CPU time). Killed on exit (or by
    ``timeout`` after ``lifetime`` seconds, whatever happens to this process)."""
    port = _free_port()
    command = [sys.executable, "-m", "sync_server", "serve", "--database-url", url,
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"]
    if workers > 1:
        command += ["--workers", str(workers)]
    profile = os.environ.get("PMS_BENCH_PROFILE_SERVER")  # a folder: py-spy records the server
    if profile and shutil.which("py-spy"):
        out = Path(profile) / f"server-{port}.txt"
        rate = os.environ.get("PMS_BENCH_PROFILE_RATE", "100")  # samples a second
        command = ["py-spy", "record", "--subprocesses", "-r", rate, "-f", "raw", "-o",
                   str(out), "--", *command]
    if shutil.which("timeout"):
        command = ["timeout", str(lifetime), *command]
    # stderr to an unnamed temporary file, not a pipe: nobody reads a pipe while the bench
    # runs, and a server writing more than the pipe holds (~64 KB of warnings) would block
    # mid-benchmark. Its tail says why a server that exits early did; the file goes on close.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_readyz(proc, base)
            except RuntimeError as e:
                if proc.poll() is None:
                    raise
                raise RuntimeError(f"the sync server exited with {proc.returncode}: "
                                   f"{_tail(err)}") from e
            yield Server(base, proc.pid)
        finally:
            if profile:
                proc.send_signal(signal.SIGINT)  # py-spy writes its file on an interrupt
            else:
                proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _tail(file: IO[bytes], chars: int = 2000) -> str:
    """The last ``chars`` characters written to ``file`` (the server's stderr)."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - 4 * chars))
    return file.read().decode(errors="replace")[-chars:]


def migrate(url: str) -> None:
    from sync_server.store import migrate as server_migrate
    from sync_server.store.db import Database

    db = Database(url)
    try:
        server_migrate.upgrade(db.engine)
    finally:
        db.dispose()


def new_devices(url: str, names: list[str]) -> list[Device]:
    """One clinic and one enrolled device per name (the server's use cases, in-process)."""
    from sync_server.auth import service
    from sync_server.store import tenants
    from sync_server.store.db import Database

    db = Database(url)
    try:
        out = []
        for name in names:
            with db.write() as session:
                clinic_id = tenants.add_clinic(session, name)
            code = service.new_enrolment_code(db, clinic_id, 1)
            out.append(Device(clinic_id, service.enrol(db, code, f"{name} bench").token))
        return out
    finally:
        db.dispose()


def enrolment_code(url: str, clinic_id: str) -> str:
    from sync_server.auth import service
    from sync_server.store.db import Database

    db = Database(url)
    try:
        return service.new_enrolment_code(db, clinic_id, 1)
    finally:
        db.dispose()


def new_clinic(url: str, name: str) -> str:
    from sync_server.store import tenants
    from sync_server.store.db import Database

    db = Database(url)
    try:
        with db.write() as session:
            return tenants.add_clinic(session, name)
    finally:
        db.dispose()
