"""A new, empty workstation's first sync (records new to it are written in bulk, not one by one
through the ORM) holds exactly what the clinic's workstation holds: every table, child rows
(identifiers, phones, invoice lines, payment allocations, blood-pressure components) and
money to the cent; its access log stays an intact chain and every record has its merge base."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pms_desktop.context import build_context
from pms_desktop.services.audit_service import verify_database
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store import outbox
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import OutboxChange, Practitioner, SyncBase
from tests.sync.conftest import SyncServer, _actor, _copy
from tests.sync.sync_server_helpers import diff_holdings, fhir_holdings

pytestmark = pytest.mark.e2e


def _queue_unsynced(ctx) -> None:  # type: ignore[no-untyped-def]
    """The template's staff and practitioner were written without outbox entries: queue every
    record the clinic has not synced yet, as its first sync would push it."""
    rmap = ctx.sync.rmap
    with ctx.db.sessions()() as s, s.begin():
        queued = {(c.table_name, c.resource_id) for c in s.scalars(select(OutboxChange))}
        for table in rmap.tables:
            model = rmap.model(table)
            for row in s.scalars(select(model).where(model.server_version.is_(None))):
                if (table, row.id) not in queued:
                    outbox.record_change(s, row, user_id=None)


def test_a_new_workstation_holds_what_the_clinic_holds(
        _template: tuple[Path, bytes], tmp_path: Path, sync_server: SyncServer) -> None:
    clinic = sync_server.new_clinic("First pull clinic")
    a = _copy(_template, tmp_path / "alpha", "alpha")
    b = None
    try:
        a.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                            code=sync_server.enrol_code(clinic), device_name="alpha")
        _queue_unsynced(a)  # first: the records below point at them
        desk, doctor = _actor(a, "paul"), _actor(a, "drkelly")
        a.billing.install_default_fee_schedule(desk)  # type: ignore[attr-defined]
        with a.db.sessions()() as s:
            practitioner = s.scalars(select(Practitioner.id)).first()
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        for i in range(3):
            pid = a.patients.register_patient(desk, draft=PatientDraft(  # type: ignore[attr-defined]
                given=f"Siún{i}", family="Ó Briain", birth_date="1979-04-0" + str(i + 1),
                sex="female", phone=f"08712345{i:02d}", phone_home="014567890",
                email=f"siun{i}@example.ie", mrn=f"MRN-{i}", city="Gaillimh")).id
            a.scheduling.book(desk, patient_id=pid,  # type: ignore[attr-defined]
                              practitioner_id=practitioner, start_at=start + timedelta(hours=i),
                              duration_minutes=15)
            a.clinical.record_vitals(doctor, patient_id=pid,  # type: ignore[attr-defined]
                                     values={"systolic": 128, "diastolic": 84, "heart_rate": 71})
            note = a.clinical.create_draft(doctor, patient_id=pid,  # type: ignore[attr-defined]
                                           subjective="Cough — três dias", plan="Rest")
            a.clinical.sign_note(doctor, note_id=note.id)  # type: ignore[attr-defined]
            invoice = a.billing.create_invoice(desk, patient_id=pid, lines=[  # type: ignore[attr-defined]
                LineInput(fee_code="CONS-S"),
                LineInput(description="Dressing", unit_price_minor=1250,
                          tax_rate=Decimal("0.135"))]).id
            a.billing.issue_invoice(desk, invoice_id=invoice)  # type: ignore[attr-defined]
            a.payments.take_payment(desk, patient_id=pid, method="card",  # type: ignore[attr-defined]
                                    amount_minor=2000, invoice_id=invoice)
        assert a.sync.run_sync().quarantined == 0  # type: ignore[attr-defined]
        key_code = a.sync.issue_clinic_key_code(_actor(a, "admin"))  # type: ignore[attr-defined]

        db, _secret = ClinicDatabase.create(tmp_path / "bravo")
        b = build_context(db)
        b.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                            code=sync_server.enrol_code(clinic), device_name="bravo",
                            clinic_key_code=key_code)
        first = b.sync.run_sync()  # type: ignore[attr-defined]
        assert first.pulled > 40 and first.new_conflicts == 0 and first.digest_ok is True
        a.sync.run_sync()  # type: ignore[attr-defined]  # (b's own workstation record)

        held_a, held_b = fhir_holdings(a), fhir_holdings(b)
        assert diff_holdings(held_a, held_b) == []
        assert sum(k.startswith("invoice/") for k in held_b) == 3
        with b.db.sessions()() as s:
            assert verify_database(s).intact
            assert s.scalar(select(func.count()).select_from(SyncBase)) >= len(held_b)
    finally:
        a.close()
        if b is not None:
            b.close()
