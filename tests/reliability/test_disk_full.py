"""A full disk during a write: the transaction rolls back, the user is told, nothing half-written.

SQLite reports a full disk and a database at its page limit with the same error (SQLITE_FULL);
``PRAGMA max_page_count`` gives a full disk on demand without mounting anything.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pms_desktop.domain.errors import DiskFullError
from pms_desktop.services.base import unit_of_work
from pms_desktop.store.models import AuditEntry, OutboxChange, Patient
from tests.reliability.figures import record

pytestmark = pytest.mark.reliability


def _fill_to_the_brim(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
        raw.execute(f"PRAGMA max_page_count = {pages}")


def _counts(ctx) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        return tuple(s.scalar(select(func.count()).select_from(t))  # type: ignore[return-value]
                     for t in (Patient, AuditEntry, OutboxChange))


def test_full_disk_rolls_back_the_whole_change_and_says_so(ctx, make_patient) -> None:  # type: ignore[no-untyped-def]
    make_patient(given="Before", family="Full")
    before = _counts(ctx)
    _fill_to_the_brim(ctx)
    from datetime import date

    with pytest.raises(DiskFullError) as err:
        with unit_of_work(ctx.core, None) as uow:
            for i in range(400):  # more than the free space inside the last pages
                p = Patient(clinic_id=uow.session.scalars(select(Patient.clinic_id)).first(),
                            given=f"G{i}" * 20, family="Overflow" * 10, birth_date=date(2000, 1, 1))
                uow.session.add(p)
                uow.session.flush()
                uow.changed(p)
                uow.audit("patient.create", resource_type="Patient", resource_id=p.id,
                          patient_id=p.id)
    assert "disk is full" in str(err.value) and "nothing was half-written" in str(err.value)
    after = _counts(ctx)
    problems = ctx.db.integrity_problems()
    record("disk full (database at its page limit)", trials=1, faults=1,
           corruptions=len(problems) + (after != before))
    assert after == before
    assert problems == []
    # space comes back: work resumes
    with ctx.db.engine.connect() as conn:
        conn.connection.dbapi_connection.execute("PRAGMA max_page_count = 1073741823")
    make_patient(given="After", family="Full")
    assert _counts(ctx)[0] == before[0] + 1
