"""SIGKILL in the middle of writes, many times: the database opens, passes the integrity checks,
and holds every save that was acknowledged, each with its access-log and outbox entries."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from pms_desktop.audit.chain import verify_chain
from pms_desktop.store import audit_log
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import AuditEntry, OutboxChange, Patient, PatientTelecom

ROUNDS = int(os.environ.get("PMS_CRASH_ROUNDS", "6"))
WRITER = Path(__file__).with_name("crash_writer.py")


def _run_and_kill(data_dir: Path, tag: str, rng: random.Random) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, str(WRITER), str(data_dir), tag], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    acked: list[str] = []
    assert proc.stdout is not None
    first = proc.stdout.readline()  # wait until it is really writing
    assert first.startswith("ack "), proc.stderr.read() if proc.stderr else ""
    acked.append(first.split()[1])
    deadline = time.monotonic() + rng.uniform(0.05, 0.6)
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    os.set_blocking(proc.stdout.fileno(), True)
    for line in proc.stdout.read().splitlines():
        if line.startswith("ack "):
            acked.append(line.split()[1])
    return acked


def test_sigkill_during_writes_loses_no_acknowledged_save(data_dir: Path) -> None:
    rng = random.Random(20261121)
    acked: list[str] = []
    for round_ in range(ROUNDS):
        acked += _run_and_kill(data_dir, f"R{round_}-", rng)
        db = ClinicDatabase.open(data_dir)
        try:
            assert db.integrity_problems() == []
            with db.sessions()() as s:
                present = set(s.scalars(select(Patient.id).where(Patient.family == "Crashtest")))
                missing = [a for a in acked if a not in present]
                assert not missing, f"round {round_}: acknowledged saves lost: {missing[:3]}"
                # no half-saved record: every patient has its phone, its log entry, its outbox entry
                for table, column in ((PatientTelecom, PatientTelecom.patient_id),
                                      (AuditEntry, AuditEntry.patient_id),
                                      (OutboxChange, OutboxChange.resource_id)):
                    n = s.scalar(select(func.count(func.distinct(column))).where(column.in_(present)))
                    assert n == len(present), f"{table.__name__} incomplete after a crash"
                assert verify_chain(audit_log.iter_entries(s)).intact
        finally:
            db.close()
    assert len(acked) > ROUNDS
