"""Row lookups and ORM -> DTO conversions shared by the clinical operations.

Nothing here checks permissions or writes the access log: the operations do (``@operation``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..domain.errors import NotFound
from ..store.models import (
    Allergy,
    ClinicalNote,
    DiagnosticReport,
    Encounter,
    Medication,
    Observation,
    Patient,
    Problem,
    StaffUser,
)
from .clinical_dto import (
    AllergyInfo,
    ComponentInfo,
    EncounterInfo,
    MedicationInfo,
    NoteInfo,
    ObservationInfo,
    PatientHeader,
    ProblemInfo,
    ReportInfo,
)
from .clinical_seal import NoteSeals
from .clinical_seal import note_hash as note_hash  # where callers have always found it


def patient_row(s: Session, patient_id: str | None) -> Patient:
    p = s.get(Patient, patient_id) if patient_id else None
    if p is None:
        raise NotFound("That patient does not exist.")
    return p


def owned(s: Session, model: type, row_id: str, patient_id: str, what: str) -> object:
    """The row ``row_id`` of ``model`` if it belongs to ``patient_id`` (else NotFound)."""
    row = s.get(model, row_id)
    if row is None or getattr(row, "patient_id", None) != patient_id:
        raise NotFound(f"That {what} does not exist for this patient.")
    return row


def staff_names(s: Session, ids: set[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = s.execute(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(wanted)))
    return {r.id: r.display_name for r in rows}


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def header(p: Patient, today: date) -> PatientHeader:
    name = " ".join(x for x in (p.prefix, p.given, p.family) if x)
    return PatientHeader(p.id, name, p.birth_date, p.sex, age_on(p.birth_date, today))


def encounter_info(e: Encounter) -> EncounterInfo:
    return EncounterInfo(e.id, e.patient_id, e.practitioner_id, e.appointment_id, e.status,
                         e.start_at, e.end_at, e.reason)


def note_info(n: ClinicalNote, names: dict[str, str],
              addenda: tuple[NoteInfo, ...] = (), seals: NoteSeals | None = None) -> NoteInfo:
    seals = seals or NoteSeals(object_session(n))
    verdict = seals.check(n)
    return NoteInfo(
        n.id, n.patient_id, n.encounter_id, n.kind, n.addendum_to_id, n.template,
        n.subjective or "", n.objective or "", n.assessment or "", n.plan or "", n.status,
        n.author_id, names.get(n.author_id, ""), n.created_at, n.updated_at, n.signed_at,
        names.get(n.signed_by_id) if n.signed_by_id else None, n.content_hash, verdict.intact,
        addenda,
        seals.record_label(verdict.signed_for) if verdict.signed_for else None,
    )


def observation_info(o: Observation) -> ObservationInfo:
    comps = tuple(ComponentInfo(c.code, c.display, c.value, c.unit, c.interpretation)
                  for c in o.components)
    return ObservationInfo(o.id, o.patient_id, o.encounter_id, o.category, o.code, o.display,
                           o.effective_at, o.value, o.unit, o.value_text, o.interpretation,
                           o.ref_low, o.ref_high, comps)


def allergy_info(a: Allergy) -> AllergyInfo:
    return AllergyInfo(a.id, a.patient_id, a.substance, a.reaction, a.severity, a.criticality,
                       a.clinical_status, a.recorded_at)


def problem_info(p: Problem) -> ProblemInfo:
    return ProblemInfo(p.id, p.patient_id, p.display, p.code, p.onset, p.abatement,
                       p.clinical_status, p.note)


def medication_info(m: Medication) -> MedicationInfo:
    return MedicationInfo(m.id, m.patient_id, m.name, m.dose, m.route, m.frequency, m.status,
                          m.started_on, m.stopped_on)


def report_info(r: DiagnosticReport, obs: list[Observation], names: dict[str, str]) -> ReportInfo:
    return ReportInfo(r.id, r.patient_id, r.code, r.display, r.status, r.issued_at, r.performer,
                      r.conclusion, r.reviewed_at,
                      names.get(r.reviewed_by_id) if r.reviewed_by_id else None,
                      tuple(observation_info(o) for o in obs))
