"""SIGKILL in the middle of writes, many times: the database opens, passes the integrity checks,
and holds every save that was acknowledged, each with its access-log and outbox entries.

The child (``children.patients_forever``) saves a patient and their phone in one unit of work as
fast as it can, acknowledging each after its commit returned; kills land at random moments.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import AuditEntry, OutboxChange, Patient, PatientTelecom
from tests.reliability import children, killing
from tests.reliability.checks import audit_problems, database_problems
from tests.reliability.figures import record, trials

pytestmark = pytest.mark.reliability

ROUNDS = trials(4, 100)


def test_sigkill_during_writes_loses_no_acknowledged_save(data_dir: Path) -> None:
    rng = random.Random(20261121)
    acked: list[str] = []
    lost = corruptions = 0
    failures: list[str] = []
    for round_ in range(ROUNDS):
        run = killing.run(children.patients_forever, str(data_dir), f"R{round_}-",
                          kill_at=rng.uniform(0.02, 0.5))
        assert run.error is None, run.error
        acked += [m[1] for m in run.of("ack")]
        db = ClinicDatabase.open(data_dir)
        try:
            broken = database_problems(db)
            with db.sessions()() as s:
                broken += audit_problems(s)
                present = set(s.scalars(select(Patient.id).where(Patient.family == "Crashtest")))
                missing = [a for a in acked if a not in present]
                # no half-saved record: every patient has its phone, its log entry, its outbox entry
                for table, column in ((PatientTelecom, PatientTelecom.patient_id),
                                      (AuditEntry, AuditEntry.patient_id),
                                      (OutboxChange, OutboxChange.resource_id)):
                    n = s.scalar(select(func.count(func.distinct(column)))
                                 .where(column.in_(present)))
                    if n != len(present):
                        broken.append(f"{table.__name__} incomplete after a crash")
        finally:
            db.close()
        lost += len(missing)
        corruptions += len(broken)
        failures += [f"round {round_}: lost {m}" for m in missing[:3]]
        failures += [f"round {round_}: {p}" for p in broken]
        if broken:
            break
    record("crash during saves (patients)", trials=ROUNDS, faults=ROUNDS, lost=lost,
           corruptions=corruptions, acknowledged=len(acked))
    assert not failures, failures[:10]
    assert len(acked) > ROUNDS
