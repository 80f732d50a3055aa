"""Patients: demographics, identifiers, contact points, related people, coverage, alerts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, SyncMixin, fhir_type, uuid_pk


@fhir_type("Patient")
class Patient(SyncMixin, Base):
    __tablename__ = "patient"
    __table_args__ = (Index("ix_patient_family_given", "family", "given"),)

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"), index=True)
    prefix: Mapped[str | None] = mapped_column(String(20))
    given: Mapped[str] = mapped_column(String(100))
    middle: Mapped[str | None] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(100))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    deceased_date: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(200))
    address_line: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(16))
    reception_notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("patient.id"))
    # Digits of the main phone, for search and duplicate checks (kept by the service).
    phone_digits: Mapped[str | None] = mapped_column(String(32), index=True)

    identifiers: Mapped[list[PatientIdentifier]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="PatientIdentifier.rank"
    )
    telecoms: Mapped[list[PatientTelecom]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="PatientTelecom.rank"
    )


class PatientIdentifier(Base):
    __tablename__ = "patient_identifier"
    __table_args__ = (UniqueConstraint("system", "value"),)

    id: Mapped[str] = uuid_pk()
    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(64), index=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)

    patient: Mapped[Patient] = relationship(back_populates="identifiers")


class PatientTelecom(Base):
    __tablename__ = "patient_telecom"

    id: Mapped[str] = uuid_pk()
    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    system: Mapped[str] = mapped_column(String(10))  # phone | email | sms
    use: Mapped[str] = mapped_column(String(10), default="mobile")  # home | work | mobile
    value: Mapped[str] = mapped_column(String(200))
    digits: Mapped[str | None] = mapped_column(String(32), index=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)

    patient: Mapped[Patient] = relationship(back_populates="telecoms")


@fhir_type("RelatedPerson")
class RelatedPerson(SyncMixin, Base):
    """Emergency contact, next of kin, parent or guardian."""

    __tablename__ = "related_person"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relationship_: Mapped[str] = mapped_column("relationship", String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    is_emergency_contact: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("Coverage")
class Coverage(SyncMixin, Base):
    __tablename__ = "coverage"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    payer_name: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str | None] = mapped_column(String(100))
    group_number: Mapped[str | None] = mapped_column(String(64))
    relationship_: Mapped[str] = mapped_column("relationship", String(20), default="self")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("Flag")
class PatientAlert(SyncMixin, Base):
    """A flag on the patient banner (allergies come from ``allergy``; these are the rest)."""

    __tablename__ = "patient_alert"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))  # clinical | safety | admin
    text: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(10), default="high")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("Consent")
class Consent(SyncMixin, Base):
    __tablename__ = "consent"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # treatment | data-sharing | sms-reminders ...
    status: Mapped[str] = mapped_column(String(20), default="active")
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(36))


@fhir_type("Linkage")
class PatientMerge(SyncMixin, Base):
    """Two records of one person joined; ``moved`` lists every re-pointed row so it can be
    undone."""

    __tablename__ = "patient_merge"

    survivor_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    merged_at: Mapped[datetime]
    merged_by: Mapped[str] = mapped_column(String(36))
    moved: Mapped[str] = mapped_column(Text)  # JSON {table: [ids]}
    reverted_at: Mapped[datetime | None]
    reverted_by: Mapped[str | None] = mapped_column(String(36))
