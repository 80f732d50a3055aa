"""End to end: the real server under uvicorn on 127.0.0.1 (HTTPS), driven with httpx.

The server runs in a subprocess bounded by ``timeout`` so that it stops itself even if the test
process dies; the test stops it as soon as it is done.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server import workers
from sync_server.cli import main
from tests.readiness import stop, wait_ready, wait_until
from tests.server.server_helpers import PG_BASE, pg_schema_named

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_enrol_push_pull_against_real_server(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "server")
    assert main(["admin", "clinic-add", "--data-dir", data, "E2E Clinic"]) == 0
    clinic_id = _last_line(capsys)
    assert main(["admin", "enrol-code", "--data-dir", data, "--clinic", clinic_id]) == 0
    code = _last_line(capsys)
    port = _free_port()
    cert, key = _self_signed(tmp_path)
    command = [sys.executable, "-m", "sync_server", "serve", "--data-dir", data,
               "--host", "127.0.0.1", "--port", str(port), "--tls-cert", cert, "--tls-key", key]
    if shutil.which("timeout"):
        command = ["timeout", "120", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603 -- our own argv
                            stderr=subprocess.PIPE)
    base = f"https://127.0.0.1:{port}"
    try:
        trust = ssl.create_default_context(cafile=cert)
        wait_ready(proc, base, verify=trust)
        with httpx.Client(base_url=base, timeout=10, verify=trust) as http:
            enrolled = http.post("/sync/enrol", json={"code": code, "device_name": "desk"})
            assert enrolled.status_code == 201
            assert enrolled.json()["clinic_id"] == clinic_id
            auth = {"Authorization": f"Bearer {enrolled.json()['token']}"}
            pid = str(uuid.uuid4())
            change = {"change_id": str(uuid.uuid4()), "resource_type": "Patient",
                      "resource_id": pid, "op": "upsert", "base_version": None,
                      "resource": {"resourceType": "Patient", "id": pid,
                                   "name": [{"family": "Byrne"}]}}
            pushed = http.post("/sync/push", json={"changes": [change]}, headers=auth)
            assert pushed.json()["results"][0]["status"] == "applied"
            replay = http.post("/sync/push", json={"changes": [change]}, headers=auth)
            assert replay.json() == pushed.json()
            pulled = http.get("/sync/pull", params={"cursor": 0, "limit": 10}, headers=auth)
            assert [c["id"] for c in pulled.json()["changes"]] == [pid]
            read = http.get(f"/fhir/Patient/{pid}", headers=auth)
            assert read.status_code == 200 and read.headers["etag"] == 'W/"1"'
            assert http.get("/fhir/metadata").json()["fhirVersion"] == "4.0.1"
    finally:
        proc.terminate()
        try:
            _, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    assert b"Byrne" not in stderr  # the structured log holds no resource contents
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    routes = {line.get("route") for line in lines if line.get("event") == "request"}
    assert {"/sync/enrol", "/sync/push", "/sync/pull", "/fhir/{resource_type}/{resource_id}"
            } <= routes
    assert main(["admin", "audit", "verify", "--data-dir", data]) == 0


@dataclass
class _Workers:
    """A two-worker server on its own PostgreSQL schema; its JSON log in ``log``."""

    base: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    codes: list[str]
    tokens: list[str] = field(default_factory=list)  # a device of the clinic per code

    def lines(self) -> list[dict[str, Any]]:
        content = self.log.read_text(errors="replace")
        return [json.loads(line) for line in content.splitlines() if line.startswith("{")]

    def worker_pids(self) -> list[int]:
        """Pids of the workers that started, in order (uvicorn logs each one's start)."""
        return [int(m.group(1)) for line in self.lines()
                if (m := re.fullmatch(r"Started server process \[(\d+)\]", line.get("msg", "")))]

    def wait_workers(self, count: int) -> None:
        """Until ``count`` workers have finished their start-up (in the server's lifetime);
        bounded by the processor time the server's processes spend (``tests.readiness``)."""
        def started() -> bool:
            return sum(line.get("msg") == "Application startup complete."
                       for line in self.lines()) >= count

        wait_until(self.proc, started, poll=0.2, what=f"the server ({count} workers)",
                   output=lambda: self.log.read_text()[-2000:])

    def auth(self, i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[i % len(self.tokens)]}"}


@contextmanager
def _two_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[_Workers]:
    with pg_schema_named("pms_e2e") as schema, _workers_on(
            f"{PG_BASE}?options=-csearch_path%3D{schema}", tmp_path, capsys) as server:
        yield server


@contextmanager
def _workers_on(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                ) -> Iterator[_Workers]:
    port = _free_port()
    proc = None
    try:
        assert main(["admin", "clinic-add", "--database-url", url, "Busy Clinic"]) == 0
        clinic_id = _last_line(capsys)
        codes = []
        for _ in range(2):
            assert main(["admin", "enrol-code", "--database-url", url, "--clinic", clinic_id]) == 0
            codes.append(_last_line(capsys))
        command = [sys.executable, "-m", "sync_server", "serve", "--database-url", url,
                   "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
        if shutil.which("timeout"):
            command = ["timeout", "180", *command]
        log = tmp_path / "server.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603
                                    stderr=sink)
        server = _Workers(f"http://127.0.0.1:{port}", port, proc, log, codes)
        # Both workers serving before the clock of any check starts: on a loaded machine the
        # second one can take many seconds to import the app.
        server.wait_workers(2)
        with httpx.Client(base_url=server.base, timeout=60) as http:
            server.tokens = [http.post("/sync/enrol", json={"code": c}).json()["token"]
                             for c in codes]
        yield server
    finally:
        if proc is not None:
            stop(proc)


@pytest.mark.postgres
def test_several_workers_on_postgres(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Two uvicorn workers, racing pushes: unique sequence numbers and one winner per version."""
    from concurrent.futures import ThreadPoolExecutor

    with _two_workers(tmp_path, capsys) as server:
        shared = str(uuid.uuid4())

        def push(i: int) -> list[dict]:
            changes = [_change(str(uuid.uuid4()), None) for _ in range(5)]
            changes.append(_change(shared, "1", family=f"Racer{i}"))
            with httpx.Client(base_url=server.base, timeout=60) as http:
                answer = http.post("/sync/push", json={"changes": changes},
                                   headers=server.auth(i))
                assert answer.status_code == 200, answer.text
                return list(answer.json()["results"])

        with httpx.Client(base_url=server.base, timeout=60) as http:
            first = http.post("/sync/push", json={"changes": [_change(shared, None)]},
                              headers=server.auth(0)).json()["results"][0]
        assert first["status"] == "applied"
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = [r for batch in pool.map(push, range(8)) for r in batch]
        on_shared = [r for r in results if r["resource_id"] == shared]
        assert sorted(r["status"] for r in on_shared) == ["applied"] + ["conflict"] * 7
        # The admin commands' AuditEvents took the clinic's first numbers: count from the
        # first push's. 1 + 40 new + 1 winner, no duplicate and no gap.
        seqs = [first["seq"]] + [r["seq"] for r in results if r["status"] == "applied"]
        assert sorted(seqs) == list(range(first["seq"], first["seq"] + 42))


def _serving(server: _Workers, connections: int) -> set[int]:
    """The worker pids that accepted ``connections`` new connections (each pushes a change
    that must be applied), as the kernel reports the connections' owners (Linux). Each is
    traced right after its answer: an idle connection is closed after 5 s (keep-alive)."""
    from bench.sync_env import serving_pids

    owners = set()
    for i in range(connections):
        with httpx.Client(base_url=server.base, timeout=60) as http:
            answer = http.post("/sync/push", json={"changes": [_change(str(uuid.uuid4()), None)]},
                               headers=server.auth(i))
            assert answer.json()["results"][0]["status"] == "applied"
            port = answer.extensions["network_stream"].get_extra_info("client_addr")[1]
            owner = serving_pids(server.proc.pid, server.port, [port])
            assert list(owner) == [port]
            owners.add(owner[port])
    return owners


@pytest.mark.postgres
@pytest.mark.skipif(os.name == "nt", reason="POSIX signals: SIGKILL a worker, SIGTERM the server")
def test_workers_share_connections_restart_and_stop(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The workers take connections in turn: connections held open at once split evenly
    (the kernel's SO_REUSEPORT hash split 20 as unevenly as 16/4, and one shared socket left
    alone can give a whole burst to one worker); a killed worker is replaced and its
    replacement takes its turns; SIGTERM stops every process cleanly (exit 0)."""
    balanced = workers.balances_connections()
    with _two_workers(tmp_path, capsys) as server:
        pids = server.worker_pids()
        assert len(pids) == 2
        if balanced:
            _assert_even(_held_open(server, 16), pids)
            assert _serving(server, 8) == set(pids)  # one after another: in turn too
        os.kill(pids[0], signal.SIGKILL)
        server.wait_workers(3)
        replacement = server.worker_pids()[2]
        if balanced:
            _assert_even(_held_open(server, 16), [pids[1], replacement])
        else:
            _serving_anywhere(server)
        server.proc.terminate()
        assert server.proc.wait(timeout=60) == 0
        finished = [line["msg"] for line in server.lines()
                    if line.get("msg", "").startswith("Finished server process")]
        assert sorted(finished) == sorted(f"Finished server process [{pid}]"
                                          for pid in (pids[1], replacement))


def _held_open(server: _Workers, connections: int) -> Counter[int]:
    """How many of ``connections`` connections, opened one after another and all held open
    (each pushes a change that must be applied), each worker pid serves (Linux: the kernel's
    TCP table and each process's descriptors)."""
    from bench.sync_env import serving_pids

    with ExitStack() as stack:
        ports = []
        for i in range(connections):
            http = stack.enter_context(httpx.Client(base_url=server.base, timeout=60))
            answer = http.post("/sync/push", json={"changes": [_change(str(uuid.uuid4()), None)]},
                               headers=server.auth(i))
            assert answer.json()["results"][0]["status"] == "applied"
            ports.append(answer.extensions["network_stream"].get_extra_info("client_addr")[1])
        owners = serving_pids(server.proc.pid, server.port, ports)
        assert sorted(owners) == sorted(ports)
        return Counter(owners.values())


def _assert_even(served: Counter[int], pids: list[int]) -> None:
    # Exactly 8/8 unless a worker was too slow to take its turn (a loaded machine): then the
    # other took the connection after waiting for it (workers.PATIENCE_SECONDS).
    assert set(served) == set(pids), served
    assert max(served.values()) - min(served.values()) <= 2, served


def _serving_anywhere(server: _Workers) -> None:
    with httpx.Client(base_url=server.base, timeout=60) as http:
        answer = http.post("/sync/push", json={"changes": [_change(str(uuid.uuid4()), None)]},
                           headers=server.auth(0))
    assert answer.json()["results"][0]["status"] == "applied"


def _change(resource_id: str, base: str | None, family: str = "Busy") -> dict:
    return {"change_id": str(uuid.uuid4()), "resource_type": "Patient",
            "resource_id": resource_id, "op": "upsert", "base_version": base,
            "resource": {"resourceType": "Patient", "id": resource_id,
                         "name": [{"family": family}]}}
