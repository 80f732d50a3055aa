"""Vital signs: record a set (range-checked, flagged, BMI computed), latest values and trends.

An impossible value refuses the whole set with a ``ValidationError`` naming the field(s); the
form keeps what was typed. Blood pressure is stored as one Observation (LOINC 85354-9) with a
systolic and a diastolic component; every other sign is one Observation with a UCUM unit.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain import vitals as V
from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..store.models import Encounter, Observation, ObservationComponent
from .base import ServiceCore, UnitOfWork, operation
from .clinical_dto import ObservationInfo, TrendPoint, VitalSeries
from .clinical_encounters import open_encounter
from .clinical_rows import observation_info, owned, patient_row

VITAL = "vital-signs"
# Series shown on the trend chart, in order: (series code, label, unit).
SERIES: tuple[tuple[str, str, str], ...] = tuple(
    (s.code, s.label, s.unit) for s in (*V.SPECS, V.BMI_SPEC))


def _worst(flags: list[str]) -> str:
    for flag in ("H", "L"):
        if flag in flags:
            return flag
    return "N"


def _single(spec: V.VitalSpec, value: Decimal, **common: object) -> Observation:
    return Observation(category=VITAL, code=spec.code, display=spec.display, value=value,
                       unit=spec.unit, interpretation=V.interpret(spec, value),
                       ref_low=spec.reference[0], ref_high=spec.reference[1], **common)


def _blood_pressure(sys_v: Decimal, dia_v: Decimal, **common: object) -> Observation:
    comps = []
    for rank, (field, value) in enumerate((("systolic", sys_v), ("diastolic", dia_v))):
        spec = V.BY_FIELD[field]
        comps.append(ObservationComponent(code=spec.code, display=spec.display, value=value,
                                          unit=spec.unit, interpretation=V.interpret(spec, value),
                                          rank=rank))
    return Observation(category=VITAL, code=V.BP_PANEL_CODE, display=V.BP_PANEL_DISPLAY,
                       interpretation=_worst([c.interpretation or "N" for c in comps]),
                       components=comps, **common)


def _latest_height(s: Session, patient_id: str) -> Decimal | None:
    return s.scalars(
        select(Observation.value)
        .where(Observation.patient_id == patient_id, Observation.code == V.BY_FIELD["height"].code,
               Observation.status == "final")
        .order_by(Observation.effective_at.desc())
    ).first()


def vital_rows(s: Session, patient_id: str) -> list[Observation]:
    return list(s.scalars(
        select(Observation).options(selectinload(Observation.components))
        .where(Observation.patient_id == patient_id, Observation.category == VITAL,
               Observation.status == "final")
        .order_by(Observation.effective_at, Observation.id)
    ))


def latest_by_code(rows: list[Observation]) -> list[ObservationInfo]:
    latest: dict[str, Observation] = {}
    for row in rows:  # oldest first: the last one per code wins
        latest[row.code] = row
    order = [V.BP_PANEL_CODE] + [s.code for s in (*V.SPECS, V.BMI_SPEC)]
    return [observation_info(latest[c]) for c in order if c in latest]


class VitalsOps:
    core: ServiceCore

    @operation(Permission.WRITE_CLINICAL, "vitals.record", patient_arg="patient_id",
               resource_type="Observation")
    def record_vitals(self, uow: UnitOfWork, *, patient_id: str, encounter_id: str | None = None,
                      values: dict[str, object]) -> list[ObservationInfo]:
        s = uow.session
        patient_row(s, patient_id)
        clean = V.validate(values)
        if not clean:
            raise ValidationError({}, "Enter at least one measurement.")
        if encounter_id:
            owned(s, Encounter, encounter_id, patient_id, "encounter")
        else:
            enc = open_encounter(s, patient_id)
            encounter_id = enc.id if enc else None
        assert uow.actor is not None
        common: dict[str, object] = dict(patient_id=patient_id, encounter_id=encounter_id,
                      effective_at=self.core.now(), recorded_by=uow.actor.user_id)
        rows = self._rows(s, patient_id, clean, common)
        for row in rows:
            s.add(row)
            uow.changed(row)
        uow.audit("vitals.record", resource_type="Observation", patient_id=patient_id,
                  detail={"codes": [r.code for r in rows]})
        self.core.notify("clinical.changed", patient_id=patient_id, what="vitals")
        return [observation_info(r) for r in rows]

    def _rows(self, s: Session, patient_id: str, clean: dict[str, Decimal],
              common: dict[str, object]) -> list[Observation]:
        rows: list[Observation] = []
        if "systolic" in clean:
            rows.append(_blood_pressure(clean["systolic"], clean["diastolic"], **common))
        for field, value in clean.items():
            if field not in ("systolic", "diastolic"):
                rows.append(_single(V.BY_FIELD[field], value, **common))
        height = clean.get("height")
        if height is None and "weight" in clean:
            height = _latest_height(s, patient_id)
        if "weight" in clean and height:
            rows.append(_single(V.BMI_SPEC, V.bmi(clean["weight"], height), **common))
        return rows

    @operation(Permission.READ_CLINICAL, "vitals.read", patient_arg="patient_id",
               resource_type="Observation")
    def latest_vitals(self, uow: UnitOfWork, *, patient_id: str) -> list[ObservationInfo]:
        patient_row(uow.session, patient_id)
        return latest_by_code(vital_rows(uow.session, patient_id))

    @operation(Permission.READ_CLINICAL, "vitals.trends", patient_arg="patient_id",
               resource_type="Observation")
    def vital_trends(self, uow: UnitOfWork, *, patient_id: str) -> list[VitalSeries]:
        """One series per sign (systolic and diastolic taken from the BP panels), oldest first."""
        patient_row(uow.session, patient_id)
        points: dict[str, list[TrendPoint]] = defaultdict(list)
        for row in vital_rows(uow.session, patient_id):
            if row.code == V.BP_PANEL_CODE:
                for c in row.components:
                    if c.value is not None:
                        points[c.code].append(
                            TrendPoint(row.effective_at, c.value, c.interpretation))
            elif row.value is not None:
                points[row.code].append(TrendPoint(row.effective_at, row.value, row.interpretation))
        return [VitalSeries(code, label, unit, tuple(points[code]))
                for code, label, unit in SERIES if points.get(code)]
