"""Vitals, allergies/problems/medications, results and the timeline through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, ValidationError
from pms_desktop.services.clinical_results import IncomingResult, insert_incoming_report
from pms_desktop.store.models import Observation


def lab_report(ctx, pid: str, days_ago: int = 1) -> str:  # type: ignore[no-untyped-def]
    return insert_incoming_report(
        ctx.core, patient_id=pid, code="24323-8", display="Comprehensive metabolic panel",
        issued_at=datetime.now(UTC) - timedelta(days=days_ago), performer="City Lab",
        results=[
            IncomingResult("2345-7", "Glucose", Decimal("7.9"), "mmol/L", Decimal("3.9"),
                           Decimal("5.8")),
            IncomingResult("2823-3", "Potassium", Decimal("4.1"), "mmol/L", Decimal("3.5"),
                           Decimal("5.1")),
        ])


def test_blood_pressure_is_one_observation_with_two_components(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    obs = ctx.clinical.record_vitals(doc, patient_id=pid, values={
        "systolic": "152", "diastolic": "96", "heart_rate": "72", "weight": "80", "height": "175"})
    by_code = {o.code: o for o in obs}
    bp = by_code["85354-9"]
    assert bp.value is None and bp.interpretation == "H"
    assert [(c.code, c.value, c.unit, c.interpretation) for c in bp.components] == [
        ("8480-6", Decimal("152"), "mm[Hg]", "H"), ("8462-4", Decimal("96"), "mm[Hg]", "H")]
    assert by_code["8867-4"].interpretation == "N" and by_code["8867-4"].unit == "/min"
    assert by_code["39156-5"].value == Decimal("26.1") and by_code["39156-5"].unit == "kg/m2"
    assert by_code["39156-5"].interpretation == "H"


def test_impossible_value_stores_nothing(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    with pytest.raises(ValidationError) as info:
        ctx.clinical.record_vitals(doc, patient_id=pid, values={"heart_rate": "72",
                                                                "temperature": "370"})
    assert list(info.value.field_errors) == ["temperature"]
    with ctx.db.sessions()() as s:
        assert s.scalars(select(Observation).where(Observation.patient_id == pid)).all() == []


def test_bmi_uses_the_last_height_when_only_weight_is_given(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    ctx.clinical.record_vitals(doc, patient_id=pid, values={"height": "160"})
    obs = ctx.clinical.record_vitals(doc, patient_id=pid, values={"weight": "64"})
    assert {o.code: o.value for o in obs}["39156-5"] == Decimal("25.0")


def test_trends_are_series_per_code_oldest_first(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    for sys_v in ("150", "140", "128"):
        ctx.clinical.record_vitals(doc, patient_id=pid, values={"systolic": sys_v,
                                                                "diastolic": "85"})
    series = {s.code: s for s in ctx.clinical.vital_trends(doc, patient_id=pid)}
    assert [p.value for p in series["8480-6"].points] == [Decimal("150"), Decimal("140"),
                                                           Decimal("128")]
    assert set(series) == {"8480-6", "8462-4"}
    latest = ctx.clinical.latest_vitals(doc, patient_id=pid)
    assert latest[0].components[0].value == Decimal("128")


def test_allergy_feeds_banner_and_summary(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    a = ctx.clinical.add_allergy(doc, patient_id=pid, substance="Penicillin", reaction="Rash",
                                 severity="severe")
    ctx.clinical.add_problem(doc, patient_id=pid, display="Hypertension")
    ctx.clinical.add_medication(doc, patient_id=pid, name="Ramipril", dose="5 mg",
                                frequency="once daily")
    # Reception sees the banner alert, not the chart.
    alerts = ctx.clinical.allergy_alerts(actors[Role.RECEPTION], patient_id=pid)
    assert [x.substance for x in alerts] == ["Penicillin"]
    summary = ctx.clinical.chart_summary(doc, patient_id=pid)
    assert [x.substance for x in summary.allergies] == ["Penicillin"]
    assert [p.display for p in summary.problems] == ["Hypertension"]
    assert [m.name for m in summary.medications] == ["Ramipril"]
    ctx.clinical.set_allergy_status(doc, patient_id=pid, allergy_id=a.id, status="entered-in-error")
    assert ctx.clinical.allergy_alerts(doc, patient_id=pid) == []
    with pytest.raises(ValidationError) as info:
        ctx.clinical.add_allergy(doc, patient_id=pid, substance=" ", severity="deadly")
    assert set(info.value.field_errors) == {"substance", "severity"}


def test_results_with_ranges_flags_and_review(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    rid = lab_report(ctx, pid)
    [report] = ctx.clinical.list_results(doc, patient_id=pid)
    glucose = next(o for o in report.observations if o.display == "Glucose")
    assert glucose.interpretation == "H" and glucose.ref_high == Decimal("5.8") and report.abnormal
    assert ctx.clinical.chart_summary(doc, patient_id=pid).unreviewed_results == 1
    reviewed = ctx.clinical.mark_reviewed(doc, patient_id=pid, report_id=rid)
    assert reviewed.reviewed_at is not None and reviewed.reviewed_by_name == "Dr Siobhan Kelly"
    with pytest.raises(ConflictError):
        ctx.clinical.mark_reviewed(doc, patient_id=pid, report_id=rid)
    assert ctx.clinical.chart_summary(doc, patient_id=pid).unreviewed_results == 0


def test_timeline_newest_first_and_filterable(ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    lab_report(ctx, pid, days_ago=3)
    enc = ctx.clinical.start_encounter(doc, patient_id=pid)
    ctx.clinical.record_vitals(doc, patient_id=pid, values={"heart_rate": "130"})
    note = ctx.clinical.create_draft(doc, patient_id=pid, encounter_id=enc.id,
                                     assessment="Tachycardia")
    draft = ctx.clinical.create_draft(doc, patient_id=pid, subjective="unsigned")
    ctx.clinical.sign_note(doc, note_id=note.id)
    entries = ctx.clinical.timeline(doc, patient_id=pid)
    assert [e.kind for e in entries] == ["note", "vitals", "encounter", "result"]
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)
    assert draft.id not in {e.ref_id for e in entries}
    assert entries[1].abnormal and "(H)" in entries[1].detail
    only = ctx.clinical.timeline(doc, patient_id=pid, kinds=["result"])
    assert [e.kind for e in only] == ["result"] and only[0].abnormal
    with pytest.raises(ValidationError):
        ctx.clinical.timeline(doc, patient_id=pid, kinds=["gossip"])
