"""Allergies, problems and current medications, and the chart summary built from them.

Nothing is deleted: a wrong entry is marked ``entered-in-error`` and a finished one inactive,
resolved or stopped. Active allergies also feed the red alert of the patient banner, which
every role that sees demographics may read (``allergy_alerts``: a safety alert, not the chart).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..store.models import Allergy, DiagnosticReport, Medication, Problem
from .base import ServiceCore, UnitOfWork, operation
from .clinical_dto import AllergyInfo, ChartSummary, MedicationInfo, ProblemInfo
from .clinical_encounters import clinic_zone, open_encounter
from .clinical_rows import (
    allergy_info,
    encounter_info,
    header,
    medication_info,
    owned,
    patient_row,
    problem_info,
)
from .clinical_vitals import latest_by_code, vital_rows

SEVERITIES = ("mild", "moderate", "severe")
CRITICALITIES = ("low", "high", "unable-to-assess")
ALLERGY_STATUSES = ("active", "inactive", "resolved", "entered-in-error")
PROBLEM_STATUSES = ("active", "recurrence", "inactive", "resolved", "entered-in-error")
MEDICATION_STATUSES = ("active", "stopped", "entered-in-error")


def _required(errors: dict[str, str], field: str, value: str | None, message: str) -> str:
    if not value or not value.strip():
        errors[field] = message
        return ""
    if len(value) > 200:
        errors[field] = "Keep this under 200 characters."
    return value.strip()


def _one_of(errors: dict[str, str], field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        errors[field] = "Choose one of: " + ", ".join(allowed) + "."


def _active_allergies(uow: UnitOfWork, patient_id: str) -> list[AllergyInfo]:
    rows = uow.session.scalars(select(Allergy).where(Allergy.patient_id == patient_id,
                                                     Allergy.clinical_status == "active")
                               .order_by(Allergy.substance))
    return [allergy_info(a) for a in rows]


class ListOps:
    core: ServiceCore

    # --- allergies ---------------------------------------------------------------------------

    @operation(Permission.WRITE_CLINICAL, "allergy.add", patient_arg="patient_id",
               resource_type="AllergyIntolerance")
    def add_allergy(self, uow: UnitOfWork, *, patient_id: str, substance: str,
                    reaction: str | None = None, severity: str = "moderate",
                    criticality: str = "unable-to-assess",
                    onset: date | None = None) -> AllergyInfo:
        patient_row(uow.session, patient_id)
        errors: dict[str, str] = {}
        substance = _required(errors, "substance", substance, "Enter the substance.")
        _one_of(errors, "severity", severity, SEVERITIES)
        _one_of(errors, "criticality", criticality, CRITICALITIES)
        if errors:
            raise ValidationError(errors)
        assert uow.actor is not None
        row = Allergy(patient_id=patient_id, substance=substance,
                      reaction=(reaction or "").strip() or None, severity=severity,
                      criticality=criticality, onset=onset, recorded_at=self.core.now(),
                      recorded_by=uow.actor.user_id)
        uow.session.add(row)
        uow.changed(row)
        self.core.notify("clinical.changed", patient_id=patient_id, what="allergy")
        return allergy_info(row)

    @operation(Permission.WRITE_CLINICAL, "allergy.status", patient_arg="patient_id",
               resource_type="AllergyIntolerance")
    def set_allergy_status(self, uow: UnitOfWork, *, patient_id: str, allergy_id: str,
                           status: str) -> AllergyInfo:
        row = owned(uow.session, Allergy, allergy_id, patient_id, "allergy")
        assert isinstance(row, Allergy)
        errors: dict[str, str] = {}
        _one_of(errors, "status", status, ALLERGY_STATUSES)
        if errors:
            raise ValidationError(errors)
        row.clinical_status = status
        uow.changed(row)
        self.core.notify("clinical.changed", patient_id=patient_id, what="allergy")
        return allergy_info(row)

    @operation(Permission.READ_CLINICAL, "allergy.list", patient_arg="patient_id",
               resource_type="AllergyIntolerance")
    def list_allergies(self, uow: UnitOfWork, *, patient_id: str) -> list[AllergyInfo]:
        patient_row(uow.session, patient_id)
        rows = uow.session.scalars(select(Allergy).where(Allergy.patient_id == patient_id)
                                   .order_by(Allergy.recorded_at.desc()))
        return [allergy_info(a) for a in rows]

    @operation(Permission.READ_DEMOGRAPHICS, "allergy.alerts", patient_arg="patient_id",
               resource_type="AllergyIntolerance")
    def allergy_alerts(self, uow: UnitOfWork, *, patient_id: str) -> list[AllergyInfo]:
        """Active allergies for the red banner alert (every role that sees the patient)."""
        patient_row(uow.session, patient_id)
        return _active_allergies(uow, patient_id)

    # --- problems ----------------------------------------------------------------------------

    @operation(Permission.WRITE_CLINICAL, "problem.add", patient_arg="patient_id",
               resource_type="Condition")
    def add_problem(self, uow: UnitOfWork, *, patient_id: str, display: str,
                    onset: date | None = None, status: str = "active", code: str | None = None,
                    note: str | None = None) -> ProblemInfo:
        patient_row(uow.session, patient_id)
        errors: dict[str, str] = {}
        display = _required(errors, "display", display, "Describe the problem.")
        _one_of(errors, "status", status, PROBLEM_STATUSES)
        if onset is not None and onset > self.core.now().date():
            errors["onset"] = "The onset cannot be in the future."
        if errors:
            raise ValidationError(errors)
        row = Problem(patient_id=patient_id, display=display, onset=onset, clinical_status=status,
                      code=code, note=note, recorded_at=self.core.now())
        uow.session.add(row)
        uow.changed(row)
        self.core.notify("clinical.changed", patient_id=patient_id, what="problem")
        return problem_info(row)

    @operation(Permission.WRITE_CLINICAL, "problem.status", patient_arg="patient_id",
               resource_type="Condition")
    def set_problem_status(self, uow: UnitOfWork, *, patient_id: str, problem_id: str,
                           status: str, abatement: date | None = None) -> ProblemInfo:
        row = owned(uow.session, Problem, problem_id, patient_id, "problem")
        assert isinstance(row, Problem)
        errors: dict[str, str] = {}
        _one_of(errors, "status", status, PROBLEM_STATUSES)
        if errors:
            raise ValidationError(errors)
        row.clinical_status = status
        if status == "resolved":
            row.abatement = abatement or self.core.now().date()
        uow.changed(row)
        self.core.notify("clinical.changed", patient_id=patient_id, what="problem")
        return problem_info(row)

    @operation(Permission.READ_CLINICAL, "problem.list", patient_arg="patient_id",
               resource_type="Condition")
    def list_problems(self, uow: UnitOfWork, *, patient_id: str) -> list[ProblemInfo]:
        patient_row(uow.session, patient_id)
        rows = uow.session.scalars(select(Problem).where(Problem.patient_id == patient_id)
                                   .order_by(Problem.recorded_at.desc()))
        return [problem_info(p) for p in rows]

    # --- medications -------------------------------------------------------------------------

    @operation(Permission.WRITE_CLINICAL, "medication.add", patient_arg="patient_id",
               resource_type="MedicationStatement")
    def add_medication(self, uow: UnitOfWork, *, patient_id: str, name: str,
                       dose: str | None = None, route: str | None = None,
                       frequency: str | None = None,
                       started_on: date | None = None) -> MedicationInfo:
        patient_row(uow.session, patient_id)
        errors: dict[str, str] = {}
        name = _required(errors, "name", name, "Enter the medication.")
        if errors:
            raise ValidationError(errors)
        row = Medication(patient_id=patient_id, name=name, dose=dose or None, route=route or None,
                         frequency=frequency or None, started_on=started_on, status="active")
        uow.session.add(row)
        uow.changed(row)
        self.core.notify("clinical.changed", patient_id=patient_id, what="medication")
        return medication_info(row)

    @operation(Permission.WRITE_CLINICAL, "medication.stop", patient_arg="patient_id",
               resource_type="MedicationStatement")
    def stop_medication(self, uow: UnitOfWork, *, patient_id: str, medication_id: str,
                        status: str = "stopped") -> MedicationInfo:
        row = owned(uow.session, Medication, medication_id, patient_id, "medication")
        assert isinstance(row, Medication)
        errors: dict[str, str] = {}
        _one_of(errors, "status", status, MEDICATION_STATUSES[1:])
        if errors:
            raise ValidationError(errors)
        row.status, row.stopped_on = status, self.core.now().date()
        uow.changed(row)
        self.core.notify("clinical.changed", patient_id=patient_id, what="medication")
        return medication_info(row)

    @operation(Permission.READ_CLINICAL, "medication.list", patient_arg="patient_id",
               resource_type="MedicationStatement")
    def list_medications(self, uow: UnitOfWork, *, patient_id: str) -> list[MedicationInfo]:
        patient_row(uow.session, patient_id)
        rows = uow.session.scalars(select(Medication).where(Medication.patient_id == patient_id)
                                   .order_by(Medication.name))
        return [medication_info(m) for m in rows]

    # --- summary -----------------------------------------------------------------------------

    @operation(Permission.READ_CLINICAL, "chart.open", patient_arg="patient_id",
               resource_type="Patient")
    def chart_summary(self, uow: UnitOfWork, *, patient_id: str) -> ChartSummary:
        """Everything the chart's left column shows, in one audited read."""
        s = uow.session
        p = patient_row(s, patient_id)
        today = self.core.now().astimezone(clinic_zone(s)).date()
        problems = s.scalars(select(Problem).where(
            Problem.patient_id == patient_id,
            Problem.clinical_status.in_(("active", "recurrence"))).order_by(Problem.onset))
        meds = s.scalars(select(Medication).where(Medication.patient_id == patient_id,
                                                  Medication.status == "active")
                         .order_by(Medication.name))
        unreviewed = s.scalar(select(func.count()).select_from(DiagnosticReport).where(
            DiagnosticReport.patient_id == patient_id, DiagnosticReport.reviewed_at.is_(None)))
        enc = open_encounter(s, patient_id)
        return ChartSummary(
            header(p, today), tuple(_active_allergies(uow, patient_id)),
            tuple(problem_info(x) for x in problems), tuple(medication_info(m) for m in meds),
            tuple(latest_by_code(vital_rows(s, patient_id))),
            encounter_info(enc) if enc else None, int(unreviewed or 0),
        )
