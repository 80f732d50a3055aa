"""The patient timeline: encounters, signed notes, vital-sign sets and results, newest first.

Drafts are not history and stay out; a set of vitals recorded together is one entry.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..domain import vitals as V
from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..store.models import ClinicalNote, DiagnosticReport, Encounter, Observation, Practitioner
from .base import ServiceCore, UnitOfWork, operation
from .clinical_dto import ObservationInfo, TimelineEntry
from .clinical_rows import observation_info, patient_row, staff_names
from .clinical_vitals import vital_rows

KINDS = ("encounter", "note", "vitals", "result")


def vitals_line(obs: Iterable[ObservationInfo]) -> str:
    """'BP 150/95 mmHg (H) · HR 72 /min' for a set of vitals."""
    parts = []
    for o in obs:
        flag = f" ({o.interpretation})" if o.interpretation not in (None, "N") else ""
        if o.code == V.BP_PANEL_CODE and len(o.components) == 2:
            s, d = (c.value for c in o.components)
            parts.append(f"BP {s}/{d} mmHg{flag}")
            continue
        spec = V.BY_CODE.get(o.code)
        if spec is None or o.value is None:
            continue
        unit = V.UNIT_LABELS.get(spec.unit, spec.unit)
        parts.append(f"{spec.label} {V.format_value(spec, o.value)} {unit}{flag}")
    return " · ".join(parts)


class TimelineOps:
    core: ServiceCore

    @operation(Permission.READ_CLINICAL, "chart.timeline", patient_arg="patient_id",
               resource_type="Patient")
    def timeline(self, uow: UnitOfWork, *, patient_id: str,
                 kinds: Iterable[str] | None = None) -> list[TimelineEntry]:
        wanted = set(kinds) if kinds is not None else set(KINDS)
        unknown = wanted - set(KINDS)
        if unknown:
            raise ValidationError({"kinds": "Unknown kind: " + ", ".join(sorted(unknown))})
        patient_row(uow.session, patient_id)
        out: list[TimelineEntry] = []
        if "encounter" in wanted:
            out += self._encounters(uow, patient_id)
        if "note" in wanted:
            out += self._notes(uow, patient_id)
        if "vitals" in wanted:
            out += self._vitals(uow, patient_id)
        if "result" in wanted:
            out += self._results(uow, patient_id)
        out.sort(key=lambda e: e.at, reverse=True)
        return out

    def _encounters(self, uow: UnitOfWork, patient_id: str) -> list[TimelineEntry]:
        rows = uow.session.execute(
            select(Encounter, Practitioner).join(Practitioner,
                                                 Practitioner.id == Encounter.practitioner_id)
            .where(Encounter.patient_id == patient_id))
        out = []
        for enc, prac in rows:
            who = " ".join(x for x in (prac.prefix, prac.given, prac.family) if x)
            status = "in progress" if enc.status == "in-progress" else enc.status
            out.append(TimelineEntry("encounter", enc.start_at, f"Consultation ({status})",
                                     f"{who}" + (f" · {enc.reason}" if enc.reason else ""),
                                     enc.id))
        return out

    def _notes(self, uow: UnitOfWork, patient_id: str) -> list[TimelineEntry]:
        rows = list(uow.session.scalars(select(ClinicalNote).where(
            ClinicalNote.patient_id == patient_id, ClinicalNote.status == "signed")))
        names = staff_names(uow.session, {r.signed_by_id for r in rows})
        out = []
        for n in rows:
            title = "Addendum" if n.kind == "addendum" else "Note signed"
            text = n.subjective if n.kind == "addendum" else (n.assessment or n.subjective)
            first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
            who = names.get(n.signed_by_id or "", "")
            detail = who + (f" · {first[:120]}" if first else "")
            assert n.signed_at is not None
            out.append(TimelineEntry("note", n.signed_at, title, detail,
                                     n.addendum_to_id or n.id))
        return out

    def _vitals(self, uow: UnitOfWork, patient_id: str) -> list[TimelineEntry]:
        groups: dict[tuple[object, object], list[Observation]] = {}
        for row in vital_rows(uow.session, patient_id):
            groups.setdefault((row.effective_at, row.encounter_id), []).append(row)
        out = []
        for rows in groups.values():
            infos = [observation_info(r) for r in rows]
            out.append(TimelineEntry("vitals", rows[0].effective_at, "Vital signs",
                                     vitals_line(infos), rows[0].id,
                                     any(i.abnormal for i in infos)))
        return out

    def _results(self, uow: UnitOfWork, patient_id: str) -> list[TimelineEntry]:
        rows = uow.session.scalars(select(DiagnosticReport).where(
            DiagnosticReport.patient_id == patient_id))
        out = []
        for r in rows:
            abnormal = bool(uow.session.scalar(select(Observation.id).where(
                Observation.diagnostic_report_id == r.id,
                Observation.interpretation.in_(("H", "L", "HH", "LL", "A"))).limit(1)))
            state = "reviewed" if r.reviewed_at else "not reviewed"
            out.append(TimelineEntry("result", r.issued_at, r.display,
                                     f"{r.performer or 'Laboratory'} · {state}", r.id, abnormal))
        return out
