"""Who may read and write clinical content, and that every read lands in the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied
from pms_desktop.store.models import AuditEntry, BreakGlassGrant

NON_CLINICAL = [Role.RECEPTION, Role.PRACTICE_MANAGER, Role.CLINIC_ADMIN]


def calls(pid: str, note_id: str, tmp: Path):  # type: ignore[no-untyped-def]
    """(name, call) for every clinical operation a non-clinician might try."""
    return [
        ("chart_summary", lambda c, a: c.chart_summary(a, patient_id=pid)),
        ("list_notes", lambda c, a: c.list_notes(a, patient_id=pid)),
        ("get_note", lambda c, a: c.get_note(a, patient_id=pid, note_id=note_id)),
        ("timeline", lambda c, a: c.timeline(a, patient_id=pid)),
        ("latest_vitals", lambda c, a: c.latest_vitals(a, patient_id=pid)),
        ("vital_trends", lambda c, a: c.vital_trends(a, patient_id=pid)),
        ("list_results", lambda c, a: c.list_results(a, patient_id=pid)),
        ("list_allergies", lambda c, a: c.list_allergies(a, patient_id=pid)),
        ("list_problems", lambda c, a: c.list_problems(a, patient_id=pid)),
        ("list_medications", lambda c, a: c.list_medications(a, patient_id=pid)),
        ("start_encounter", lambda c, a: c.start_encounter(a, patient_id=pid)),
        ("create_draft", lambda c, a: c.create_draft(a, patient_id=pid, subjective="x")),
        ("save_draft", lambda c, a: c.save_draft(a, note_id=note_id, subjective="forged")),
        ("sign_note", lambda c, a: c.sign_note(a, note_id=note_id)),
        ("add_addendum", lambda c, a: c.add_addendum(a, note_id=note_id, text="x")),
        ("record_vitals", lambda c, a: c.record_vitals(a, patient_id=pid,
                                                       values={"heart_rate": "70"})),
        ("add_allergy", lambda c, a: c.add_allergy(a, patient_id=pid, substance="Latex")),
        ("add_problem", lambda c, a: c.add_problem(a, patient_id=pid, display="Asthma")),
        ("add_medication", lambda c, a: c.add_medication(a, patient_id=pid, name="Salbutamol")),
        ("letter_pdf", lambda c, a: c.letter_pdf(
            a, patient_id=pid, kind="certificate",
            fields={"condition": "flu", "unfit_from": "1/1", "unfit_to": "2/1"})),
    ]


@pytest.mark.parametrize("role", NON_CLINICAL)
def test_non_clinical_roles_are_refused_and_the_refusal_logged(ctx, actors, make_patient,
                                                               tmp_path, role):
    pid = make_patient()
    note = ctx.clinical.create_draft(actors[Role.CLINICIAN], patient_id=pid, subjective="secret")
    for name, call in calls(pid, note.id, tmp_path):
        with pytest.raises(PermissionDenied):
            call(ctx.clinical, actors[role])
        with ctx.db.sessions()() as s:
            last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
            assert last is not None and last.outcome == "refused", name
            assert last.username == actors[role].username, name
    got = ctx.clinical.get_note(actors[Role.CLINICIAN], patient_id=pid, note_id=note.id)
    assert got.subjective == "secret" and got.status == "draft"


def test_every_clinical_read_is_in_the_access_log_with_its_patient(ctx, actors, make_patient,
                                                                    tmp_path):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    note = ctx.clinical.create_draft(doc, patient_id=pid, subjective="x")
    reads = [c for c in calls(pid, note.id, tmp_path)
             if c[0] in {"chart_summary", "list_notes", "get_note", "timeline", "latest_vitals",
                         "vital_trends", "list_results", "list_allergies", "list_problems",
                         "list_medications"}]
    for name, call in reads:
        with ctx.db.sessions()() as s:
            before = s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())).first()
        call(ctx.clinical, doc)
        with ctx.db.sessions()() as s:
            new = s.scalars(select(AuditEntry).where(AuditEntry.seq > before)).all()
        assert len(new) == 1, name
        assert new[0].patient_id == pid and new[0].outcome == "success", name
        assert new[0].username == "drkelly", name


def test_break_glass_opens_reads_only_and_is_flagged(ctx, actors, make_patient):
    pid = make_patient()
    rita = actors[Role.RECEPTION]
    ctx.clinical.add_allergy(actors[Role.CLINICIAN], patient_id=pid, substance="Latex")
    with ctx.db.sessions()() as s, s.begin():
        s.add(BreakGlassGrant(user_id=rita.user_id, patient_id=pid,
                              reason="Collapsed in waiting room",
                              granted_at=datetime.now(UTC),
                              expires_at=datetime.now(UTC) + timedelta(minutes=30)))
    summary = ctx.clinical.chart_summary(rita, patient_id=pid)
    assert [a.substance for a in summary.allergies] == ["Latex"]
    with ctx.db.sessions()() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last is not None and last.break_glass and last.action == "chart.open"
    with pytest.raises(PermissionDenied):
        ctx.clinical.record_vitals(rita, patient_id=pid, values={"heart_rate": "70"})
