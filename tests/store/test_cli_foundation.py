"""The foundation's commands as an admin's script uses them: demo, backup, restore, keys."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp

LINE = re.compile(r"^sign-in user=(\S+) role=(reception|clinician|practice_manager|clinic_admin) "
                  r"password=(\S+) totp=([A-Z2-7]+)$")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # a fixed interpreter and module; the arguments come from the tests themselves
    return subprocess.run([sys.executable, "-m", "pms_desktop", *args], capture_output=True,  # noqa: S603
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_demo_backup_restore_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = _run("demo", "--data-dir", str(data), "--patients", "60")
    assert demo.returncode == 0, demo.stderr
    logins = [LINE.match(line) for line in demo.stdout.splitlines() if line.startswith("sign-in")]
    assert logins and all(logins), demo.stdout
    roles = {m.group(2) for m in logins if m}
    assert roles == {"reception", "clinician", "practice_manager", "clinic_admin"}
    from sqlalchemy import func, select

    from pms_desktop.services.clinical_seal import note_hash
    from pms_desktop.store.database import ClinicDatabase
    from pms_desktop.store.models import ClinicalNote, Observation

    db = ClinicDatabase.open(data)
    with db.sessions()() as s:  # every heart rate recorded carries its value and unit
        rates = s.execute(select(func.count(), func.count(Observation.value),
                                 func.count(Observation.unit))
                          .where(Observation.code == "8867-4")).one()
        notes = list(s.scalars(select(ClinicalNote).where(ClinicalNote.status == "signed")))
        altered = [n.id for n in notes if n.content_hash != note_hash(n)]
    db.close()
    assert rates[0] > 0 and rates[0] == rates[1] == rates[2]
    assert notes and not altered  # a signed demo note is sealed, not shown as altered
    admin = next(m for m in logins if m and m.group(2) == "clinic_admin")
    reception = next(m for m in logins if m and m.group(2) == "reception")

    def creds(m: re.Match[str]) -> dict[str, str]:
        return {"PMS_PASSWORD": m.group(3), "PMS_TOTP": pyotp.TOTP(m.group(4)).now()}

    refused = _run("backup", "--data-dir", str(data), "--out", str(tmp_path / "x.pmsbak"),
                   "--user", reception.group(1), env=creds(reception))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert not (tmp_path / "x.pmsbak").exists()

    out = tmp_path / "b.pmsbak"
    backup = _run("backup", "--data-dir", str(data), "--out", str(out), "--user", "admin",
                  env=creds(admin))
    assert backup.returncode == 0, backup.stderr
    assert out.exists()

    wrong = _run("restore", "--data-dir", str(data), "--from", str(out), "--user", "admin",
                 env={"PMS_PASSWORD": "not-the-password", "PMS_TOTP": "000000"})
    assert wrong.returncode == 1 and "not right" in wrong.stderr

    restored = _run("restore", "--data-dir", str(data), "--from", str(out), "--user", "admin",
                    env=creds(admin))
    assert restored.returncode == 0, restored.stderr
    rotate = _run("keys", "rotate", "--data-dir", str(data), "--user", "admin", env=creds(admin))
    # the same TOTP step may already be used by the backup sign-in: then a code is refused once
    assert rotate.returncode in (0, 1) and "Traceback" not in rotate.stderr


def test_commands_on_a_missing_folder_say_so(tmp_path: Path) -> None:
    r = _run("backup", "--data-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "b"),
             "--user", "x", env={"PMS_PASSWORD": "x", "PMS_TOTP": "1"})
    assert r.returncode == 1 and "No clinic database" in r.stderr and "Traceback" not in r.stderr


def test_the_application_starts_to_its_sign_in_window_and_exits_cleanly(data_dir: Path) -> None:
    """``pms-desktop`` as a person starts it (offscreen): the sign-in window is painted, the
    process ends with 0 and nothing alarming on stderr, and the data folder is unlocked."""
    started = _run("--data-dir", str(data_dir),
                   env={"PMS_STARTUP_PROBE": "1", "QT_QPA_PLATFORM": "offscreen"})
    assert started.returncode == 0, started.stderr[-2000:]
    assert any(line.startswith("sign-in window painted at ")
               for line in started.stdout.splitlines()), started.stdout
    assert "Fatal" not in started.stderr and "Traceback" not in started.stderr, started.stderr
    from pms_desktop.store.database import acquire_lock

    acquire_lock(data_dir).release()  # not left locked by the process that ended
