"""``pms-desktop enroll`` and ``pms-desktop sync`` run headless as an admin or a scheduled task
runs them: separate processes against the real server. Exit 0 when done; otherwise a non-zero
status and one clear line, never a traceback: not enrolled (1), refused (1), the server out of
reach (2, and nothing queued is lost). Each process costs a second or more to start, so the
cases that need no process of their own call the same ``main`` in this one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pms_desktop.cli import main as desktop
from pms_desktop.context import open_context
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.sync import sync_state as st
from tests.sync.conftest import SyncServer, _actor, _copy
from tests.sync.sync_server_helpers import fhir_holdings

pytestmark = pytest.mark.e2e


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pms_desktop", *map(str, args)]
    if shutil.which("timeout"):
        command = ["timeout", "120", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=150,  # noqa: S603
                          env={**os.environ, "PMS_DEBUG": ""})


def one_clear_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])  # closed again at once: nothing listens there
    return f"http://127.0.0.1:{port}"


def test_enroll_and_sync_headless(_template: tuple[Path, bytes], tmp_path: Path,
                                  sync_server: SyncServer,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A new workstation enrols into an empty folder and its first sync downloads the clinic;
    a sync says clearly when the folder is not enrolled or the server is out of reach."""
    clinic = sync_server.new_clinic("CLI clinic")
    a = _copy(_template, tmp_path / "alpha", "alpha")
    new = tmp_path / "new-desk"
    try:
        a.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                            code=sync_server.enrol_code(clinic), device_name="alpha")
        a.patients.register_patient(_actor(a), draft=PatientDraft(  # type: ignore[attr-defined]
            given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female"))
        a.sync.run_sync()  # type: ignore[attr-defined]
        key = a.sync.issue_clinic_key_code(_actor(a, "admin"))  # type: ignore[attr-defined]

        not_enrolled = cli("sync", "--data-dir", new)
        assert not_enrolled.returncode == 1
        assert "No clinic database" in one_clear_line(not_enrolled.stderr)

        assert desktop(["enroll", "--data-dir", str(new), "--server", sync_server.url,
                        "--code", "AAAA-BBBB-CCCC-DDDD", "--clinic-key", key]) == 1
        assert "refused" in one_clear_line(capsys.readouterr().err)
        assert not new.exists()  # nothing half-made: no store, no staging folder
        new.mkdir()
        assert desktop(["enroll", "--data-dir", str(new), "--server", _dead_url(),
                        "--code", sync_server.enrol_code(clinic), "--clinic-key", key]) == 1
        assert "cannot be reached" in one_clear_line(capsys.readouterr().err)
        assert list(new.iterdir()) == []  # a folder that was there stays, empty
        assert desktop(["sync", "--data-dir", str(new)]) == 1
        assert "No clinic database" in one_clear_line(capsys.readouterr().err)

        enrolled = cli("enroll", "--data-dir", new, "--server", sync_server.url,
                       "--code", sync_server.enrol_code(clinic), "--clinic-key", key,
                       "--name", "new desk")
        assert enrolled.returncode == 0, enrolled.stderr
        assert "CLI clinic" in enrolled.stdout.splitlines()[-1]

        synced = cli("sync", "--data-dir", new)
        assert synced.returncode == 0, synced.stderr
        assert "digest_ok=True" in synced.stdout

        b = open_context(new)
        try:
            held_a, held_b = fhir_holdings(a), fhir_holdings(b)
            patients = sorted(k for k in held_a if k.startswith("patient/"))
            assert patients and [held_b.get(k) for k in patients] == [held_a[k] for k in patients]
            b.patients.register_patient(_actor(b, "admin"), draft=PatientDraft(  # type: ignore[attr-defined]
                given="Liam", family="Walsh", birth_date="1990-01-02", sex="male"))
            queued = b.sync.device_status().pending_changes  # type: ignore[attr-defined]
            with b.db.sessions()() as s, s.begin():
                st.put(s, st.SERVER_URL, _dead_url())
        finally:
            b.close()

        offline = cli("sync", "--data-dir", new)
        assert offline.returncode == 2
        assert "cannot be reached" in one_clear_line(offline.stderr)
        assert "Changes stay queued" in offline.stderr
        b = open_context(new)
        try:
            assert queued >= 1
            assert b.sync.device_status().pending_changes == queued  # type: ignore[attr-defined]
        finally:
            b.close()
    finally:
        a.close()
