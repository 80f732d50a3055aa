"""Lab and diagnostic results: DiagnosticReports with their Observations, and their review.

Results arrive from the central store (FHIR ``DiagnosticReport`` + ``Observation``), pulled by
sync. ``insert_incoming_report`` writes them as a pull would (server version set, nothing in the
outbox); the tests and the demo use it until the sync engine applies real pulls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain.enums import AuditOutcome
from ..domain.errors import ConflictError
from ..domain.permissions import Permission
from ..store.models import DiagnosticReport, Observation
from .base import ServiceCore, UnitOfWork, operation, unit_of_work
from .clinical_dto import ReportInfo
from .clinical_rows import owned, patient_row, report_info, staff_names


@dataclass(frozen=True)
class IncomingResult:
    code: str  # LOINC
    display: str
    value: Decimal | None
    unit: str | None
    ref_low: Decimal | None = None
    ref_high: Decimal | None = None
    value_text: str | None = None
    interpretation: str | None = None  # computed from the reference range when None


def flag(value: Decimal | None, low: Decimal | None, high: Decimal | None) -> str | None:
    if value is None:
        return None
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def insert_incoming_report(core: ServiceCore, *, patient_id: str, code: str, display: str,
                           issued_at: datetime, results: list[IncomingResult],
                           performer: str | None = None, conclusion: str | None = None,
                           server_version: int = 1) -> str:
    """Store a report as it would arrive from the central store; returns its id."""
    with unit_of_work(core, None) as uow:
        s = uow.session
        patient_row(s, patient_id)
        report = DiagnosticReport(patient_id=patient_id, code=code, display=display,
                                  status="final", issued_at=issued_at, performer=performer,
                                  conclusion=conclusion, server_version=server_version)
        s.add(report)
        s.flush()
        for r in results:
            s.add(Observation(
                patient_id=patient_id, diagnostic_report_id=report.id, category="laboratory",
                code=r.code, display=r.display, status="final", effective_at=issued_at,
                value=r.value, unit=r.unit, value_text=r.value_text,
                interpretation=r.interpretation or flag(r.value, r.ref_low, r.ref_high),
                ref_low=r.ref_low, ref_high=r.ref_high, server_version=server_version))
        uow.audit("result.receive", outcome=AuditOutcome.SUCCESS, resource_type="DiagnosticReport",
                  resource_id=report.id, patient_id=patient_id)
        return report.id


class ResultOps:
    core: ServiceCore

    def _report(self, uow: UnitOfWork, report: DiagnosticReport) -> ReportInfo:
        obs = list(uow.session.scalars(
            select(Observation).options(selectinload(Observation.components))
            .where(Observation.diagnostic_report_id == report.id).order_by(Observation.display)))
        return report_info(report, obs, staff_names(uow.session, {report.reviewed_by_id}))

    @operation(Permission.READ_CLINICAL, "result.list", patient_arg="patient_id",
               resource_type="DiagnosticReport")
    def list_results(self, uow: UnitOfWork, *, patient_id: str) -> list[ReportInfo]:
        """The patient's reports, newest first, each with its observations."""
        patient_row(uow.session, patient_id)
        reports = list(uow.session.scalars(
            select(DiagnosticReport).where(DiagnosticReport.patient_id == patient_id)
            .order_by(DiagnosticReport.issued_at.desc())))
        ids = [r.id for r in reports]
        obs: dict[str, list[Observation]] = {i: [] for i in ids}
        if ids:
            for o in uow.session.scalars(
                    select(Observation).options(selectinload(Observation.components))
                    .where(Observation.diagnostic_report_id.in_(ids))
                    .order_by(Observation.display)):
                obs[o.diagnostic_report_id or ""].append(o)
        names = staff_names(uow.session, {r.reviewed_by_id for r in reports})
        return [report_info(r, obs[r.id], names) for r in reports]

    @operation(Permission.WRITE_CLINICAL, "result.review", patient_arg="patient_id",
               resource_type="DiagnosticReport")
    def mark_reviewed(self, uow: UnitOfWork, *, patient_id: str, report_id: str) -> ReportInfo:
        report = owned(uow.session, DiagnosticReport, report_id, patient_id, "result")
        assert isinstance(report, DiagnosticReport) and uow.actor is not None
        if report.reviewed_at is not None:
            raise ConflictError("This result was already marked as reviewed.")
        now = self.core.now()
        report.reviewed_at, report.reviewed_by_id = now, uow.actor.user_id
        uow.changed(report)
        for o in uow.session.scalars(select(Observation).where(
                Observation.diagnostic_report_id == report.id)):
            o.reviewed_at, o.reviewed_by_id = now, uow.actor.user_id
            uow.changed(o)
        uow.audit("result.review", resource_type="DiagnosticReport", resource_id=report.id,
                  patient_id=patient_id)
        self.core.notify("clinical.changed", patient_id=patient_id, what="result")
        return self._report(uow, report)
