"""Child process for the crash tests: saves records through the real unit of work, printing
``ack <id>`` only after each commit returned (what the application acknowledges to a person)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from sqlalchemy import select

from pms_desktop.context import build_context
from pms_desktop.services.base import unit_of_work
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Clinic, Patient, PatientTelecom


def main(data_dir: str, tag: str) -> None:
    ctx = build_context(ClinicDatabase.open(Path(data_dir)))
    with ctx.db.sessions()() as s:
        clinic_id = s.scalars(select(Clinic.id)).one()
    n = 0
    while True:
        n += 1
        with unit_of_work(ctx.core, None) as uow:
            p = Patient(clinic_id=clinic_id, given=f"{tag}{n}", family="Crashtest",
                        birth_date=date(1990, 1, 1), phone_digits=f"08{n:08d}")
            uow.session.add(p)
            uow.session.flush()
            uow.session.add(PatientTelecom(patient_id=p.id, system="phone", value=f"08{n:08d}",
                                           digits=f"08{n:08d}"))
            uow.changed(p)
            uow.audit("patient.create", resource_type="Patient", resource_id=p.id, patient_id=p.id)
        sys.stdout.write(f"ack {p.id}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
