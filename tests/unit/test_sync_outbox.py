"""The outbox stamps a change with the service clock (the workstation's own, possibly hours
off): one clock for the access log and the record, and a clock a test can skew."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import OutboxChange, Patient

SKEWED = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
PLAN_SECTION = {"title": "Plan of care",
                "code": {"coding": [{"system": "http://loinc.org", "code": "18776-5"}]},
                "text": {"status": "additional",
                         "div": '<div xmlns="http://www.w3.org/1999/xhtml">Rest</div>'}}


def test_a_change_is_stamped_with_the_service_clock(ctx: Any, actors: Any) -> None:
    ctx.core.clock = lambda: SKEWED
    draft = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female")
    pid = ctx.patients.register_patient(actors[Role.RECEPTION], draft=draft).id
    with ctx.db.sessions()() as s:
        assert s.get(Patient, pid).updated_at == SKEWED
        change = s.scalars(select(OutboxChange).where(OutboxChange.resource_id == pid)).one()
        assert change.created_at == SKEWED


def test_a_merge_queues_both_patients_and_moves_phones_as_new_parts(
    ctx: Any, actors: Any, make_patient: Any
) -> None:
    """The survivor's record gained the duplicate's phones: it must sync too; the moved phones
    get ids of their own, so that a workstation still holding them under the duplicate does
    not find one phone in two records."""
    from pms_desktop.store.models import PatientTelecom

    keep = make_patient("Mary", "Murphy")
    dup = make_patient("Mary", "Murphey", phone="01 222 3333")
    with ctx.db.sessions()() as s:
        old_ids = set(s.scalars(select(PatientTelecom.id).where(PatientTelecom.patient_id == dup)))
        s.query(OutboxChange).delete()
        s.commit()
    ctx.patients.merge_patients(actors[Role.RECEPTION], survivor_id=keep, merged_id=dup)
    with ctx.db.sessions()() as s:
        queued = set(s.scalars(select(OutboxChange.resource_id)))
        moved = set(s.scalars(select(PatientTelecom.id).where(PatientTelecom.patient_id == keep)))
    assert {keep, dup} <= queued
    assert old_ids and not (old_ids & moved)
    assert ctx.patients.search(actors[Role.RECEPTION], "01 222 3333")[0].id == keep


def test_taking_the_other_value_never_changes_a_note_signed_since(ctx: Any, actors: Any,
                                                                  make_patient: Any) -> None:
    """A conflict about a draft section, resolved after the note was signed: refused, and the
    signed note stays intact."""
    import json as _json

    import pytest

    from pms_desktop.domain.errors import ConflictError
    from pms_desktop.store.models import SyncConflict

    doc = actors[Role.CLINICIAN]
    pid = make_patient("Mary", "Murphy")
    note = ctx.clinical.create_draft(doc, patient_id=pid, subjective="Cough")
    with ctx.db.sessions()() as s, s.begin():
        conflict = SyncConflict(kind="field", resource_type="Composition", resource_id=note.id,
                                field="plan", created_at=SKEWED, local_value="null",
                                remote_value=_json.dumps([PLAN_SECTION]))
        s.add(conflict)
    ctx.clinical.sign_note(doc, note_id=note.id)
    with pytest.raises(ConflictError):
        ctx.sync.resolve_conflict(doc, conflict_id=conflict.id, choice="remote")
    assert ctx.clinical.get_note(doc, patient_id=pid, note_id=note.id).intact
