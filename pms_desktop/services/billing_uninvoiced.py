"""Completed appointments that have no (non-void) invoice yet: the "nothing is missed" list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ..domain.enums import AppointmentStatus, InvoiceStatus
from ..store.models import Appointment, AppointmentType, Invoice, Patient, Practitioner
from .billing_dto import UninvoicedAppointment
from .billing_queries import patient_name, practitioner_name


def uninvoiced_appointments(
    session: Session, start: datetime, end: datetime
) -> list[UninvoicedAppointment]:
    invoiced = (
        select(Invoice.id)
        .where(
            and_(
                Invoice.appointment_id == Appointment.id, Invoice.status != InvoiceStatus.VOID.value
            )
        )
        .exists()
    )
    rows = session.execute(
        select(Appointment, Patient, Practitioner, AppointmentType)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .outerjoin(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .where(
            Appointment.status == AppointmentStatus.COMPLETED.value,
            Appointment.start_at >= start,
            Appointment.start_at < end,
            ~invoiced,
        )
        .order_by(Appointment.start_at)
    )
    return [
        UninvoicedAppointment(
            appointment_id=a.id,
            patient_id=p.id,
            patient_name=patient_name(p),
            practitioner_name=practitioner_name(pr) or "",
            start_at=a.start_at,
            type_name=t.name if t else None,
            fee_code=t.default_fee_code if t else None,
        )
        for a, p, pr, t in rows
    ]
