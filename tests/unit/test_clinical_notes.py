"""Encounters and notes on the real encrypted store: drafts, signing, immutability, addenda."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, NotFound, ValidationError
from pms_desktop.store.models import Appointment, Clinic, ClinicalNote, OutboxChange, Practitioner


def add_appointment(ctx, patient_id: str, status: str = "arrived") -> str:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with ctx.db.sessions()() as s, s.begin():
        appt = Appointment(clinic_id=s.scalars(select(Clinic.id)).one(), patient_id=patient_id,
                           practitioner_id=s.scalars(select(Practitioner.id)).first(),
                           start_at=now - timedelta(minutes=5), end_at=now + timedelta(minutes=10),
                           status=status, arrived_at=now)
        s.add(appt)
        s.flush()
        return appt.id


def appointment_status(ctx, appt_id: str) -> str:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        appt = s.get(Appointment, appt_id)
        assert appt is not None
        return appt.status


def test_encounter_from_appointment_runs_to_completed_on_signing(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    appt = add_appointment(ctx, pid)
    enc = ctx.clinical.start_encounter(doc, appointment_id=appt)
    assert enc.patient_id == pid and enc.appointment_id == appt and enc.status == "in-progress"
    assert appointment_status(ctx, appt) == "in-consultation"
    # Starting again hands back the same open encounter.
    assert ctx.clinical.start_encounter(doc, appointment_id=appt).id == enc.id

    note = ctx.clinical.create_draft(doc, patient_id=pid, encounter_id=enc.id)
    ctx.clinical.save_draft(doc, note_id=note.id, subjective="Cough for 3 days",
                            assessment="Viral URTI")
    signed = ctx.clinical.sign_note(doc, note_id=note.id)
    assert signed.signed and signed.signed_by_name == "Dr Siobhan Kelly"
    assert signed.signed_at is not None and signed.intact and len(signed.content_hash or "") == 64
    assert appointment_status(ctx, appt) == "completed"
    assert ctx.clinical.current_encounter(doc, patient_id=pid) is None
    assert ctx.clinical.list_encounters(doc, patient_id=pid)[0].status == "finished"


def test_ad_hoc_encounter_without_appointment(ctx, actors, make_patient):
    pid = make_patient()
    enc = ctx.clinical.start_encounter(actors[Role.CLINICIAN], patient_id=pid)
    assert enc.appointment_id is None and enc.patient_id == pid


def test_cancelled_appointment_cannot_start(ctx, actors, make_patient):
    appt = add_appointment(ctx, make_patient(), status="cancelled")
    with pytest.raises(ConflictError):
        ctx.clinical.start_encounter(actors[Role.CLINICIAN], appointment_id=appt)


def test_each_draft_save_is_durable_and_queued_for_sync(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    note = ctx.clinical.create_draft(doc, patient_id=pid)
    for text in ("Head", "Headache", "Headache since Monday"):
        ctx.clinical.save_draft(doc, note_id=note.id, subjective=text)
    with ctx.db.sessions()() as s:
        row = s.get(ClinicalNote, note.id)
        assert row is not None and row.subjective == "Headache since Monday"
        assert row.status == "draft"
        changes = s.scalars(select(OutboxChange).where(OutboxChange.resource_id == note.id)).all()
        assert len(changes) == 1  # squashed into one pending change


def test_signed_note_refuses_every_edit(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    note = ctx.clinical.create_draft(doc, patient_id=pid, subjective="Original text")
    ctx.clinical.sign_note(doc, note_id=note.id)
    with pytest.raises(ConflictError):
        ctx.clinical.save_draft(doc, note_id=note.id, subjective="Rewritten history")
    with pytest.raises(ConflictError):
        ctx.clinical.sign_note(doc, note_id=note.id)
    assert ctx.clinical.get_note(doc, patient_id=pid, note_id=note.id).subjective == "Original text"


def test_empty_note_cannot_be_signed(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    note = ctx.clinical.create_draft(doc, patient_id=make_patient())
    with pytest.raises(ValidationError):
        ctx.clinical.sign_note(doc, note_id=note.id)


def test_tampering_with_a_signed_note_shows(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    note = ctx.clinical.create_draft(doc, patient_id=pid, plan="Amoxicillin 500 mg")
    ctx.clinical.sign_note(doc, note_id=note.id)
    with ctx.db.sessions()() as s, s.begin():
        row = s.get(ClinicalNote, note.id)
        assert row is not None
        row.plan = "Amoxicillin 5000 mg"
    assert ctx.clinical.get_note(doc, patient_id=pid, note_id=note.id).intact is False


def test_addendum_points_at_the_note_and_is_signed(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    note = ctx.clinical.create_draft(doc, patient_id=pid, assessment="Sprain")
    with pytest.raises(ConflictError):  # a draft is edited, not amended
        ctx.clinical.add_addendum(doc, note_id=note.id, text="x")
    ctx.clinical.sign_note(doc, note_id=note.id)
    add = ctx.clinical.add_addendum(doc, note_id=note.id, text="X-ray: no fracture.")
    assert add.kind == "addendum" and add.addendum_to_id == note.id and add.signed
    assert add.intact and add.text == "X-ray: no fracture."
    with pytest.raises(ConflictError):
        ctx.clinical.save_draft(doc, note_id=add.id, subjective="changed")
    with pytest.raises(ValidationError):
        ctx.clinical.add_addendum(doc, note_id=note.id, text="   ")
    notes = ctx.clinical.list_notes(doc, patient_id=pid)
    assert [n.id for n in notes] == [note.id]  # addenda hang under their note
    assert [a.text for a in notes[0].addenda] == ["X-ray: no fracture."]


def test_templates_shipped_and_clinic_own(ctx, actors):
    doc = actors[Role.CLINICIAN]
    names = [t.name for t in ctx.clinical.list_templates(doc)]
    assert "General consultation" in names and "Hypertension review" in names
    ctx.clinical.save_template(doc, name="Asthma review", subjective="Inhaler use:")
    own = [t for t in ctx.clinical.list_templates(doc) if t.name == "Asthma review"]
    assert own and own[0].id is not None and own[0].subjective == "Inhaler use:"


def test_note_of_another_patient_is_not_found(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    a, b = make_patient(), make_patient(given="John", family="Byrne")
    note = ctx.clinical.create_draft(doc, patient_id=a, subjective="private")
    with pytest.raises(NotFound):
        ctx.clinical.get_note(doc, patient_id=b, note_id=note.id)
