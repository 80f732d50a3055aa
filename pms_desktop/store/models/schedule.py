"""Appointment types and appointments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, SyncMixin, fhir_type


@fhir_type("HealthcareService")
class AppointmentType(SyncMixin, Base):
    __tablename__ = "appointment_type"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=15)
    colour: Mapped[str] = mapped_column(String(9), default="#7fb3d5")
    default_fee_code: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("Appointment")
class Appointment(SyncMixin, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_practitioner_start", "practitioner_id", "start_at"),
        Index("ix_appointment_start", "start_at"),
        # Each appointment's length (days) by practitioner: the longest one bounds an overlap
        # query's start from below (``sync.page_apply``; migration 0006).
        Index("ix_appointment_practitioner_length", "practitioner_id",
              text("(julianday(end_at) - julianday(start_at))")),
    )

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioner.id"))
    appointment_type_id: Mapped[str | None] = mapped_column(ForeignKey("appointment_type.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="booked")
    note: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    arrived_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    recurrence_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # A deliberate double-book: allowed only with an explicit, logged override.
    overbook_reason: Mapped[str | None] = mapped_column(String(200))
    booked_by: Mapped[str | None] = mapped_column(String(36))
