"""End to end: the real server under uvicorn on 127.0.0.1, driven with httpx.

The server runs in a subprocess bounded by ``timeout`` so that it stops itself even if the test
process dies; the test stops it as soon as it is done.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from sync_server.cli import main

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def _wait_ready(base: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become ready")


def test_enrol_push_pull_against_real_server(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "server")
    assert main(["admin", "clinic-add", "--data-dir", data, "E2E Clinic"]) == 0
    clinic_id = _last_line(capsys)
    assert main(["admin", "enrol-code", "--data-dir", data, "--clinic", clinic_id]) == 0
    code = _last_line(capsys)
    port = _free_port()
    command = [sys.executable, "-m", "sync_server", "serve", "--data-dir", data,
               "--host", "127.0.0.1", "--port", str(port)]
    if shutil.which("timeout"):
        command = ["timeout", "120", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603 -- our own argv
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        with httpx.Client(base_url=base, timeout=10) as http:
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
