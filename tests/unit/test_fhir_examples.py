"""Every syncable table against the test clinic: the outgoing resource validates with the R4B
models, and local -> FHIR -> local keeps every column and child row."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from pms_desktop.fhir.mapping import SYNCABLE_TABLES, resource_for
from pms_desktop.fhir.secret_box import ClinicSecretBox
from pms_desktop.store.models import (
    Allergy,
    Appointment,
    AppointmentType,
    Clinic,
    ClinicalNote,
    Consent,
    Coverage,
    CreditNote,
    CreditNoteLine,
    DiagnosticReport,
    Encounter,
    FeeItem,
    Invoice,
    InvoiceLine,
    Medication,
    NoteTemplate,
    Observation,
    ObservationComponent,
    PatientAlert,
    PatientIdentifier,
    PatientMerge,
    Payment,
    PaymentAllocation,
    Practitioner,
    PractitionerLeave,
    Problem,
    RelatedPerson,
    StaffUser,
    WorkingHours,
    Workstation,
)
from tests.unit.test_fhir_support import KEY, round_trip

T0 = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)


def build_clinic_records(s: Any, patient_id: str) -> dict[str, str]:
    """One row of every syncable table (with children), linked like real records."""
    clinic = s.scalars(select(Clinic)).one()
    prac = s.scalars(select(Practitioner)).first()
    staff = s.scalars(select(StaffUser).where(StaffUser.username == "drkelly")).one()
    other = s.scalars(select(StaffUser).where(StaffUser.username == "admin")).one()
    clinic.legal_name, clinic.tax_id, clinic.logo_png = "Riverside Ltd", "IE123", b"\x89PNG\x00"
    prac.specialty, prac.provider_number, prac.qualification = "GP", "PN-1", "MB BCh"
    s.add(
        PatientIdentifier(
            patient_id=patient_id, system="urn:ppsn", label="PPSN", value="1234567T", rank=3
        )
    )
    atype = AppointmentType(
        clinic_id=clinic.id, name="Long consult", duration_minutes=30, default_fee_code="GP2"
    )
    s.add(atype)
    s.flush()
    appt = Appointment(
        clinic_id=clinic.id,
        patient_id=patient_id,
        practitioner_id=prac.id,
        appointment_type_id=atype.id,
        start_at=T0,
        end_at=T0 + timedelta(minutes=30),
        status="in-consultation",
        arrived_at=T0,
        started_at=T0 + timedelta(minutes=2),
        note="knee <pain> & swelling",
        booked_by=other.id,
        overbook_reason="urgent",
    )
    s.add(appt)
    s.flush()
    enc = Encounter(
        patient_id=patient_id,
        practitioner_id=prac.id,
        appointment_id=appt.id,
        start_at=T0,
        reason="Knee pain",
    )
    s.add(enc)
    s.flush()
    note = ClinicalNote(
        patient_id=patient_id,
        encounter_id=enc.id,
        author_id=staff.id,
        subjective='Pain 3 days.\nWorse < stairs & "steps"',
        objective="",
        assessment="Sprain",
        plan="RICE",
        status="signed",
        created_at=T0,
        signed_at=T0 + timedelta(hours=1),
        signed_by_id=staff.id,
        content_hash="ab" * 32,
        template="SOAP",
    )
    s.add(note)
    s.flush()
    addendum = ClinicalNote(
        patient_id=patient_id,
        author_id=staff.id,
        kind="addendum",
        addendum_to_id=note.id,
        plan="X-ray if no better",
        created_at=T0,
    )
    report = DiagnosticReport(
        patient_id=patient_id,
        code="58410-2",
        display="CBC",
        issued_at=T0,
        performer="City Lab",
        conclusion="Normal",
    )
    s.add_all([addendum, report])
    s.flush()
    bp = Observation(
        patient_id=patient_id,
        encounter_id=enc.id,
        code="85354-9",
        display="Blood pressure panel",
        effective_at=T0,
        recorded_by=staff.id,
        components=[
            ObservationComponent(
                code="8480-6",
                display="Systolic",
                value=Decimal("142"),
                unit="mm[Hg]",
                interpretation="H",
                rank=0,
            ),
            ObservationComponent(
                code="8462-4",
                display="Diastolic",
                value=Decimal("88.5"),
                unit="mm[Hg]",
                interpretation="N",
                rank=1,
            ),
        ],
    )
    hb = Observation(
        patient_id=patient_id,
        diagnostic_report_id=report.id,
        category="laboratory",
        code="718-7",
        display="Hemoglobin",
        effective_at=T0,
        value=Decimal("13.20"),
        unit="g/dL",
        ref_low=Decimal("12.0"),
        ref_high=Decimal("15.5"),
        interpretation="N",
        value_text="see comment",
        reviewed_at=T0,
        reviewed_by_id=staff.id,
    )
    fee = FeeItem(
        clinic_id=clinic.id,
        code="GP2",
        description="Long consult",
        price_minor=7550,
        tax_rate=Decimal("0.135"),
    )
    s.add_all([bp, hb, fee])
    s.flush()
    inv = Invoice(
        clinic_id=clinic.id,
        number="INV-A-000001",
        patient_id=patient_id,
        practitioner_id=prac.id,
        appointment_id=appt.id,
        encounter_id=enc.id,
        status="issued",
        currency="EUR",
        created_at=T0,
        issued_at=T0,
        due_date=date(2025, 4, 3),
        subtotal_minor=15100,
        discount_minor=100,
        tax_minor=2025,
        total_minor=17025,
        note="Thanks",
        lines=[
            InvoiceLine(
                position=0,
                fee_item_id=fee.id,
                code="GP2",
                description="Long consult",
                quantity=Decimal("2"),
                unit_price_minor=7550,
                discount_minor=100,
                tax_rate=Decimal("0.135"),
                net_minor=15000,
                tax_minor=2025,
                total_minor=17025,
            ),
            InvoiceLine(
                position=1,
                description="Dressing",
                quantity=Decimal("0.5"),
                unit_price_minor=201,
                tax_rate=Decimal("0"),
                net_minor=100,
                tax_minor=0,
                total_minor=100,
            ),
        ],
    )
    s.add(inv)
    s.flush()
    credit = CreditNote(
        invoice_id=inv.id,
        number="CN-A-000001",
        reason="Overcharged",
        issued_at=T0,
        issued_by=other.id,
        net_minor=100,
        tax_minor=0,
        total_minor=100,
        lines=[
            CreditNoteLine(
                invoice_line_id=inv.lines[1].id,
                position=0,
                description="Dressing",
                net_minor=100,
                tax_minor=0,
                total_minor=100,
            )
        ],
    )
    pay = Payment(
        clinic_id=clinic.id,
        patient_id=patient_id,
        method="card",
        amount_minor=20000,
        currency="EUR",
        received_at=T0,
        received_by=other.id,
        reference="AUTH 99",
        receipt_number="REC-A-000001",
        allocations=[PaymentAllocation(invoice_id=inv.id, amount_minor=16925)],
    )
    others = [
        credit,
        pay,
        WorkingHours(
            practitioner_id=prac.id,
            weekday=2,
            start_time=time(9),
            end_time=time(13, 30),
            valid_from=date(2025, 1, 1),
        ),
        PractitionerLeave(
            practitioner_id=prac.id, start_at=T0, end_at=T0 + timedelta(days=2), reason="Conference"
        ),
        NoteTemplate(clinic_id=clinic.id, name="Knee", subjective="Onset:", plan="Review 2/52"),
        Allergy(
            patient_id=patient_id,
            substance="Penicillin",
            code="764146007",
            reaction="Hives",
            severity="severe",
            criticality="high",
            recorded_at=T0,
            onset=date(2001, 1, 1),
            recorded_by=staff.id,
        ),
        Problem(
            patient_id=patient_id,
            code="44054006",
            code_system="http://snomed.info/sct",
            display="Type 2 diabetes",
            onset=date(2015, 6, 1),
            recorded_at=T0,
            note="diet",
        ),
        Medication(
            patient_id=patient_id,
            name="Metformin 500mg",
            dose="500 mg",
            route="oral",
            frequency="twice daily",
            started_on=date(2015, 6, 2),
        ),
        Coverage(
            patient_id=patient_id,
            payer_name="VHI",
            member_id="M-77",
            plan="Gold",
            group_number="G1",
            valid_from=date(2024, 1, 1),
        ),
        RelatedPerson(
            patient_id=patient_id, name="John Murphy", relationship_="spouse", phone="086 000 1111"
        ),
        PatientAlert(patient_id=patient_id, category="safety", text="Aggressive dog at home"),
        Consent(
            patient_id=patient_id,
            kind="sms-reminders",
            status="revoked",
            granted_at=T0,
            revoked_at=T0 + timedelta(days=9),
            note="by phone",
            recorded_by=other.id,
        ),
        PatientMerge(
            survivor_id=patient_id,
            merged_id=patient_id,
            merged_at=T0,
            merged_by=other.id,
            moved='{"appointment": []}',
        ),
    ]
    others.append(  # as another workstation's record arrives here (``is_local`` never travels)
        Workstation(clinic_id=clinic.id, name="Consulting room 2", series_code="K7QZ",
                    is_local=False, created_at=T0)
    )
    s.add_all(others)
    s.flush()
    ids = {
        "clinic": clinic.id,
        "practitioner": prac.id,
        "staff_user": staff.id,
        "appointment_type": atype.id,
        "appointment": appt.id,
        "encounter": enc.id,
        "clinical_note": note.id,
        "diagnostic_report": report.id,
        "observation": bp.id,
        "fee_item": fee.id,
        "invoice": inv.id,
        "patient": patient_id,
    }
    for row in others:
        ids[row.__tablename__] = row.id
    ids["observation_lab"], ids["addendum"] = hb.id, addendum.id
    return ids


@pytest.fixture
def records(ctx: Any, make_patient: Any) -> Any:
    patient_id = make_patient(
        mrn="MRN-1",
        address_line="1 Main St",
        city="Cork",
        preferred_name="Molly",
        middle="Anne",
        email="m@example.org",
    )
    s = ctx.db.sessions()()
    with s.begin():
        ids = build_clinic_records(s, patient_id)
    yield s, ids
    s.close()


def test_every_syncable_table_is_covered() -> None:
    assert len(SYNCABLE_TABLES) == 26


def test_every_table_validates_and_round_trips(records: Any) -> None:
    """One clinic for all tables (a fresh encrypted store per table would cost seconds each)."""
    session, ids = records
    box = ClinicSecretBox(KEY)
    failures = {}
    for table in [*SYNCABLE_TABLES, "observation_lab", "addendum"]:
        real = {"observation_lab": "observation", "addendum": "clinical_note"}.get(table, table)
        resource = resource_for(session, real, ids[table], secrets=box)
        assert resource["id"] == ids[table]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        before, after = round_trip(session, real, ids[table], secrets=box)
        diff = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
        if diff:
            failures[table] = diff
    assert failures == {}
