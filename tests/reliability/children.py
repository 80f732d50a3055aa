"""The work the crash tests kill: each function runs in a child process (see ``killing.py``).

``send(message)`` is called only after the work a message names has returned, exactly when the
application would tell a person "saved". Imported once by the forkserver, with everything the
children use, so that a child starts at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

import pms_desktop.fhir.mapping  # noqa: F401 - the sync service's map (seconds of imports)
import pms_desktop.services.accounts  # noqa: F401
import pms_desktop.services.audit_service  # noqa: F401
import pms_desktop.services.backups  # noqa: F401
import pms_desktop.services.billing  # noqa: F401
import pms_desktop.services.clinic_setup  # noqa: F401
import pms_desktop.services.clinical  # noqa: F401
import pms_desktop.services.patients  # noqa: F401
import pms_desktop.services.payments  # noqa: F401
import pms_desktop.services.reports  # noqa: F401 - matplotlib (seconds of imports)
import pms_desktop.services.scheduling  # noqa: F401
import pms_desktop.services.sync_service  # noqa: F401
from pms_desktop.context import build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.services.base import unit_of_work
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyStore
from pms_desktop.store.models import Clinic, Patient, PatientTelecom, StaffUser
from tests.reliability.atomic_keyring import file_keystore

Send = Callable[[tuple[Any, ...]], None]
FIRST_SLOT = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def actors(ctx: Any) -> dict[Role, StaffSession]:
    with ctx.db.sessions()() as s:
        return {Role(u.role): StaffSession(u.id, u.username, u.display_name, Role(u.role),
                                           ctx.core.workstation_id, datetime.now(UTC),
                                           u.practitioner_id)
                for u in s.scalars(select(StaffUser))}


def clinic_day(send: Send, data_dir: str, round_no: int, patient_id: str,
               loops: int | None = None) -> None:
    """Notes written and signed, appointments booked, invoices with two lines issued and paid,
    over and over (``loops`` times, or until killed), through the services the screens call."""
    ctx = build_context(ClinicDatabase.open(Path(data_dir)))
    who = actors(ctx)
    doctor, desk, manager = who[Role.CLINICIAN], who[Role.RECEPTION], who[Role.PRACTICE_MANAGER]
    send(("ready", time.monotonic()))
    n = 0
    while loops is None or n < loops:
        n += 1
        key = f"r{round_no}-{n}"
        note = ctx.clinical.create_draft(doctor, patient_id=patient_id,  # type: ignore[attr-defined]
                                         subjective=f"Crash-test note {key}")
        send(("note", note.id, key))
        ctx.clinical.sign_note(doctor, note_id=note.id)  # type: ignore[attr-defined]
        send(("signed", note.id))
        # one round's slots never meet another round's: no double-booking to refuse
        start = FIRST_SLOT + timedelta(days=round_no, minutes=15 * n)
        appt = ctx.scheduling.book(desk, patient_id=patient_id,  # type: ignore[attr-defined]
                                   practitioner_id=doctor.practitioner_id, start_at=start,
                                   duration_minutes=15, note=key, override_reason="")
        send(("appointment", appt.id, key))
        inv = ctx.billing.create_invoice(  # type: ignore[attr-defined]
            manager, patient_id=patient_id, note=key,
            lines=[LineInput(fee_code="ECG"), LineInput(fee_code="CERT")])
        send(("invoice", inv.id, key))
        issued = ctx.billing.issue_invoice(manager, invoice_id=inv.id)  # type: ignore[attr-defined]
        send(("issued", inv.id, issued.summary.number, issued.summary.total_minor))
        pay = ctx.payments.take_payment(  # type: ignore[attr-defined]
            desk, patient_id=patient_id, method="card", invoice_id=inv.id,
            amount_minor=issued.summary.total_minor)
        send(("payment", pay.id, inv.id, pay.amount_minor, time.monotonic()))


def patients_forever(send: Send, data_dir: str, tag: str) -> None:
    """A patient and their phone in one unit of work, as fast as the disk allows."""
    ctx = build_context(ClinicDatabase.open(Path(data_dir)))
    with ctx.db.sessions()() as s:
        clinic_id = s.scalars(select(Clinic.id)).one()
    send(("ready",))
    n = 0
    while True:
        n += 1
        with unit_of_work(ctx.core, None) as uow:
            p = Patient(clinic_id=clinic_id, given=f"{tag}{n}", family="Crashtest",
                        birth_date=datetime(1990, 1, 1).date(), phone_digits=f"08{n:08d}")
            uow.session.add(p)
            uow.session.flush()
            uow.session.add(PatientTelecom(patient_id=p.id, system="phone", value=f"08{n:08d}",
                                           digits=f"08{n:08d}"))
            uow.changed(p)
            uow.audit("patient.create", resource_type="Patient", resource_id=p.id,
                      patient_id=p.id)
        send(("ack", p.id))


def upgrade(send: Send, data_dir: str) -> None:
    """Start the application on a database saved by an older version: backup, then upgrade."""
    send(("ready", time.monotonic()))
    db = ClinicDatabase.open(Path(data_dir))
    send(("done", time.monotonic(), db.schema_revision()))
    db.close()


def rotate_keys(send: Send, data_dir: str, keyring_file: str) -> None:
    """Rotate the database key again and again (what the admin's "rotate key" does)."""
    keystore: KeyStore = file_keystore(Path(keyring_file))
    db = ClinicDatabase.open(Path(data_dir), keystore)
    send(("ready", db.info.check))
    while True:
        db.rotate_key()
        send(("rotated", db.info.check))




def backups_forever(send: Send, data_dir: str, out_dir: str) -> None:
    """Write backups one after another (what the scheduler and "Back up now" do)."""
    from pms_desktop.store.backup import write_backup

    db = ClinicDatabase.open(Path(data_dir))
    send(("ready", time.monotonic()))
    n = 0
    while True:
        target = Path(out_dir) if n % 2 else Path(data_dir) / "backups"
        path = write_backup(db, target, label="scheduled")
        n += 1
        send(("ack", str(path)))
