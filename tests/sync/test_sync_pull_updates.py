"""Records edited elsewhere reach a workstation that holds them, against the real server.

A pulled page writes newer versions of held records with statements of many rows
(``PageApplier``, ``mapping.update_held``), not one by one through the ORM: what the
workstation then holds is what the clinic holds (child rows updated in place, added and
dropped; a column whose attribute is named apart), its own bookkeeping kept
(the record's local revision), its patient search answering the new name and phone and no
longer the old phone, a double-booking that an update makes raised, the access log intact.
An update the store refuses (an identifier another patient here holds) sends its page the
careful way: held as a possible duplicate, the rest of the page applied.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.fhir import mapping
from pms_desktop.services.audit_service import verify_database
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import (
    AuditEntry,
    InvoiceLine,
    Patient,
    PatientTelecom,
    Practitioner,
    RelatedPerson,
)
from tests.sync.conftest import _actor
from tests.sync.sync_server_helpers import diff_holdings, fhir_holdings

pytestmark = pytest.mark.e2e

DAY = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)


def _draft(i: int) -> PatientDraft:
    return PatientDraft(given=f"Siún{i}", family="Ó Briain", birth_date=f"1979-04-0{i + 1}",
                        sex="female", phone=f"08712345{i:02d}", phone_home="014567890",
                        email=f"siun{i}@example.ie", mrn=f"MRN-{i}", city="Gaillimh",
                        emergency_name=f"Máire {i}", emergency_relationship="Mother",
                        emergency_phone="0861112223")


def _edit(w: Any, pid: str, **changes: Any) -> None:
    detail = w.ctx.patients.get_patient(w.actor, patient_id=pid)
    w.ctx.patients.update_patient(w.actor, patient_id=pid,
                                  draft=replace(detail.draft, **changes))


def _related(w: Any) -> list[RelatedPerson]:
    with w.ctx.db.sessions()() as s:
        return list(s.scalars(select(RelatedPerson)))


def _orm_applied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables of the records a sync applies one by one through the ORM."""
    seen: list[str] = []
    original = mapping.apply_resource

    def counting(session: Any, resource: Any, **kwargs: Any) -> Any:
        table, rid = original(session, resource, **kwargs)
        seen.append(table)
        return table, rid

    monkeypatch.setattr(mapping, "apply_resource", counting)
    return seen


def test_records_edited_elsewhere_are_held_as_the_clinic_holds_them(
        make_workstations: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = make_workstations(2)
    doctor = _actor(a.ctx, "drkelly")
    a.ctx.billing.install_default_fee_schedule(a.actor)
    with a.ctx.db.sessions()() as s:
        practitioner = str(s.scalars(select(Practitioner.id)).first())
    patients, bookings, invoices = [], [], []
    for i in range(3):
        pid = a.ctx.patients.register_patient(a.actor, draft=_draft(i)).id
        patients.append(pid)
        bookings.append(a.ctx.scheduling.book(
            a.actor, patient_id=pid, practitioner_id=practitioner,
            start_at=DAY + timedelta(hours=i), duration_minutes=15).id)
        a.ctx.clinical.record_vitals(
            doctor, patient_id=pid, values={"systolic": 128, "diastolic": 84})
        invoice = a.ctx.billing.create_invoice(a.actor, patient_id=pid, lines=[
            LineInput(fee_code="CONS-S"),
            LineInput(description="Dressing", unit_price_minor=1250,
                      tax_rate=Decimal("0.135"))])
        if i:  # the first stays a draft, edited below
            a.ctx.billing.issue_invoice(a.actor, invoice_id=invoice.id)
        invoices.append(invoice.id)
    a.sync.run_sync()
    b.sync.run_sync()
    _edit(b, patients[0], city="Cill Airne")  # edited here once: its local revision is 2
    b.sync.run_sync()
    a.sync.run_sync()
    with b.ctx.db.sessions()() as s:
        revision = s.get(Patient, patients[0]).local_revision
    assert revision == 2

    # Elsewhere: names, phones and an identifier changed; a booking moved onto the slot B
    # booked meanwhile, offline; the draft invoice's lines changed (one dropped, one changed,
    # one added); an invoice voided.
    for i, pid in enumerate(patients):
        _edit(a, pid, family=f"Mac Giolla {i}", phone=f"08699988{i:02d}",
              mrn=f"MRN-{i}-B", email="", emergency_relationship="Guardian")
    b_booking = b.ctx.scheduling.book(b.actor, patient_id=patients[2],
                                      practitioner_id=practitioner,
                                      start_at=DAY + timedelta(hours=5), duration_minutes=30).id
    a.ctx.scheduling.move(a.actor, appointment_id=bookings[1],
                          start_at=DAY + timedelta(hours=5, minutes=15))
    a.ctx.billing.update_draft(a.actor, invoice_id=invoices[0], lines=[
        LineInput(description="Dressing, large", unit_price_minor=1750,
                  tax_rate=Decimal("0.135")),
        LineInput(description="Suture removal", unit_price_minor=2500, tax_rate=Decimal(0))])
    a.ctx.billing.void_invoice(a.actor, invoice_id=invoices[2], reason="Raised twice")
    a.sync.run_sync()

    through_orm = _orm_applied(monkeypatch)
    b.sync.run_sync()
    assert [t for t in through_orm
            if t in ("patient", "related_person", "appointment", "invoice")] == []

    search = b.ctx.patients.search
    assert [p.id for p in search(b.actor, "Mac Giolla 1")] == [patients[1]]
    assert [p.id for p in search(b.actor, "0869998802")] == [patients[2]]
    assert search(b.actor, "0871234502") == []
    assert [p.id for p in search(b.actor, "MRN-0-B")] == [patients[0]]
    assert {r.relationship_ for r in _related(b)} == {"Guardian"}  # (a column named apart)
    with b.ctx.db.sessions()() as s:
        assert s.get(Patient, patients[0]).local_revision == 2  # this workstation's count
        assert sorted(t.value for t in s.scalars(select(PatientTelecom).where(
            PatientTelecom.patient_id == patients[1]))) == ["014567890", "0869998801"]
        assert sorted(line.description for line in s.scalars(select(InvoiceLine).where(
            InvoiceLine.invoice_id == invoices[0]))) == ["Dressing, large", "Suture removal"]
    clashes = [c for c in b.ctx.sync.conflicts(b.actor) if c.kind == "double-booking"]
    assert len(clashes) == 1 and b_booking in (clashes[0].detail or "")
    assert bookings[1] in (clashes[0].detail or "")

    a.sync.run_sync()  # (B's booking)
    b.sync.run_sync()
    assert diff_holdings(fhir_holdings(a.ctx), fhir_holdings(b.ctx)) == []
    with b.ctx.db.sessions()() as s:
        assert verify_database(s).intact
        applied: dict[str, int] = {}
        for entry in s.scalars(select(AuditEntry).where(AuditEntry.action == "sync.apply")):
            applied.update(json.loads(entry.detail).get("applied", {}))
    held = fhir_holdings(b.ctx)
    for pid in patients:
        version = int(held[f"patient/{pid}"]["meta"]["versionId"])
        assert applied[f"Patient/{pid}"] == version
    assert held[f"invoice/{invoices[2]}"]["status"] == "cancelled"


def test_an_update_the_store_refuses_is_held_as_a_possible_duplicate_and_the_page_goes_on(
        make_workstations: Any) -> None:
    """A patient's MRN changed elsewhere to one B registered offline for another patient: the
    page's writing refuses it, so the page is applied change by change: the update is held
    with a possible-duplicate conflict naming both, the other edits of the page applied."""
    a, b = make_workstations(2)
    first = a.ctx.patients.register_patient(a.actor, draft=_draft(0)).id
    second = a.ctx.patients.register_patient(a.actor, draft=_draft(1)).id
    a.sync.run_sync()
    b.sync.run_sync()
    mine = b.ctx.patients.register_patient(b.actor, draft=replace(
        _draft(2), given="Áine", mrn="MRN-77")).id
    _edit(a, first, mrn="MRN-77")
    _edit(a, second, family="Mac Giolla")
    a.sync.run_sync()

    b.sync.run_sync()
    assert [p.id for p in b.ctx.patients.search(b.actor, "Mac Giolla")] == [second]
    duplicates = [c for c in b.ctx.sync.conflicts(b.actor) if c.kind == "possible-duplicate"]
    assert len(duplicates) == 1
    assert first in (duplicates[0].detail or "") and mine in (duplicates[0].detail or "")
    with b.ctx.db.sessions()() as s:
        assert verify_database(s).intact
