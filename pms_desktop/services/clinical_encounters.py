"""Encounters: a consultation opened from the waiting room (or ad hoc) and closed on signing.

Starting moves the linked appointment to "in-consultation"; signing the encounter's note moves
the encounter to "finished" and the appointment to "completed" (see ``clinical_notes``).
Starting twice is harmless: the open encounter is handed back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.enums import AppointmentStatus, EncounterStatus
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.permissions import Permission
from ..store.models import Appointment, Clinic, Encounter
from .base import ServiceCore, UnitOfWork, operation
from .clinical_dto import EncounterInfo
from .clinical_rows import encounter_info, patient_row

STARTABLE = {AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.IN_CONSULTATION}


def clinic_zone(s: Session) -> ZoneInfo:
    tz = s.scalars(select(Clinic.timezone)).first()
    try:
        return ZoneInfo(tz or "UTC")
    except Exception:  # noqa: BLE001 - a bad setting must not stop a consultation
        return ZoneInfo("UTC")


def open_encounter(s: Session, patient_id: str) -> Encounter | None:
    return s.scalars(
        select(Encounter)
        .where(Encounter.patient_id == patient_id,
               Encounter.status == EncounterStatus.IN_PROGRESS.value)
        .order_by(Encounter.start_at.desc())
    ).first()


def finish_encounter(uow: UnitOfWork, enc: Encounter, now: datetime) -> None:
    """Close the encounter and complete its appointment (on signing its note)."""
    if enc.status != EncounterStatus.IN_PROGRESS.value:
        return
    enc.status, enc.end_at = EncounterStatus.FINISHED.value, now
    uow.changed(enc)
    appt = uow.session.get(Appointment, enc.appointment_id) if enc.appointment_id else None
    if appt is not None and appt.status == AppointmentStatus.IN_CONSULTATION.value:
        appt.status, appt.completed_at = AppointmentStatus.COMPLETED.value, now
        uow.changed(appt)


def _todays_arrival(s: Session, patient_id: str, now: datetime) -> Appointment | None:
    zone = clinic_zone(s)
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return s.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient_id,
               Appointment.status == AppointmentStatus.ARRIVED.value,
               Appointment.start_at >= start, Appointment.start_at < start + timedelta(days=1))
        .order_by(Appointment.start_at)
    ).first()


class EncounterOps:
    core: ServiceCore

    @operation(Permission.WRITE_CLINICAL, "encounter.start", patient_arg="patient_id",
               resource_type="Encounter")
    def start_encounter(self, uow: UnitOfWork, *, appointment_id: str | None = None,
                        patient_id: str | None = None) -> EncounterInfo:
        s, now = uow.session, self.core.now()
        appt: Appointment | None = None
        if appointment_id:
            appt = s.get(Appointment, appointment_id)
            if appt is None:
                raise NotFound("That appointment does not exist.")
            if patient_id and appt.patient_id != patient_id:
                raise ValidationError({"appointment_id": "The appointment is for another patient."})
            if appt.status not in STARTABLE:
                raise ConflictError(f"This appointment is {appt.status}: it cannot be started.")
            patient_id = appt.patient_id
        patient_row(s, patient_id)
        assert patient_id is not None
        enc = open_encounter(s, patient_id)
        if enc is None or (appt is not None and enc.appointment_id not in (None, appt.id)):
            if appt is None:
                appt = _todays_arrival(s, patient_id, now)
            enc = self._new_encounter(uow, patient_id, appt, now)
        elif appt is not None and enc.appointment_id is None:
            enc.appointment_id = appt.id
            uow.changed(enc)
        if appt is not None and appt.status != AppointmentStatus.IN_CONSULTATION.value:
            appt.status, appt.started_at = AppointmentStatus.IN_CONSULTATION.value, now
            uow.changed(appt)
        uow.audit("encounter.start", resource_type="Encounter", resource_id=enc.id,
                  patient_id=patient_id, detail={"appointment_id": enc.appointment_id})
        self.core.notify("clinical.changed", patient_id=patient_id, what="encounter")
        if appt is not None:
            self.core.notify("schedule.changed", appointment_id=appt.id)
        return encounter_info(enc)

    def _new_encounter(self, uow: UnitOfWork, patient_id: str, appt: Appointment | None,
                       now: datetime) -> Encounter:
        actor = uow.actor
        practitioner = (actor.practitioner_id if actor else None) or (
            appt.practitioner_id if appt else None)
        if practitioner is None:
            raise ValidationError({"practitioner": "Your account is not linked to a practitioner."})
        enc = Encounter(patient_id=patient_id, practitioner_id=practitioner,
                        appointment_id=appt.id if appt else None,
                        status=EncounterStatus.IN_PROGRESS.value, start_at=now,
                        reason=appt.note if appt else None)
        uow.session.add(enc)
        uow.changed(enc)
        return enc

    @operation(Permission.READ_CLINICAL, "encounter.read", patient_arg="patient_id",
               resource_type="Patient")
    def current_encounter(self, uow: UnitOfWork, *, patient_id: str) -> EncounterInfo | None:
        patient_row(uow.session, patient_id)
        enc = open_encounter(uow.session, patient_id)
        return encounter_info(enc) if enc else None

    @operation(Permission.READ_CLINICAL, "encounter.list", patient_arg="patient_id",
               resource_type="Patient")
    def list_encounters(self, uow: UnitOfWork, *, patient_id: str) -> list[EncounterInfo]:
        patient_row(uow.session, patient_id)
        rows = uow.session.scalars(select(Encounter).where(Encounter.patient_id == patient_id)
                                   .order_by(Encounter.start_at.desc()))
        return [encounter_info(e) for e in rows]
