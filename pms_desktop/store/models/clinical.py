"""Encounters, clinical notes and addenda, observations, results, allergies, problems, meds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, SyncMixin, fhir_type, uuid_pk


@fhir_type("Encounter")
class Encounter(SyncMixin, Base):
    __tablename__ = "encounter"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioner.id"))
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="in-progress")
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))


@fhir_type("Composition")
class ClinicalNote(SyncMixin, Base):
    """A SOAP note or an addendum. Once signed the row never changes (DESIGN.md)."""

    __tablename__ = "clinical_note"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    encounter_id: Mapped[str | None] = mapped_column(ForeignKey("encounter.id"), index=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("staff_user.id"))
    kind: Mapped[str] = mapped_column(String(10), default="note")
    addendum_to_id: Mapped[str | None] = mapped_column(ForeignKey("clinical_note.id"))
    template: Mapped[str | None] = mapped_column(String(100))
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff_user.id"))
    # SHA-256 of the signed content, so that tampering with a signed note shows.
    content_hash: Mapped[str | None] = mapped_column(String(64))


@fhir_type("Basic")
class NoteTemplate(SyncMixin, Base):
    __tablename__ = "note_template"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"))
    name: Mapped[str] = mapped_column(String(100))
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("DiagnosticReport")
class DiagnosticReport(SyncMixin, Base):
    __tablename__ = "diagnostic_report"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    code_system: Mapped[str] = mapped_column(String(200), default="http://loinc.org")
    display: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="final")
    issued_at: Mapped[datetime]
    performer: Mapped[str | None] = mapped_column(String(200))
    conclusion: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff_user.id"))


@fhir_type("Observation")
class Observation(SyncMixin, Base):
    """A vital sign or a result; blood pressure is one row with two components."""

    __tablename__ = "observation"
    __table_args__ = (Index("ix_observation_patient_code_time", "patient_id", "code",
                            "effective_at"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"))
    encounter_id: Mapped[str | None] = mapped_column(ForeignKey("encounter.id"), index=True)
    diagnostic_report_id: Mapped[str | None] = mapped_column(
        ForeignKey("diagnostic_report.id"), index=True
    )
    category: Mapped[str] = mapped_column(String(20), default="vital-signs")
    code_system: Mapped[str] = mapped_column(String(200), default="http://loinc.org")
    code: Mapped[str] = mapped_column(String(40))
    display: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="final")
    effective_at: Mapped[datetime]
    value: Mapped[Decimal | None]
    unit: Mapped[str | None] = mapped_column(String(30))  # UCUM
    value_text: Mapped[str | None] = mapped_column(String(500))
    interpretation: Mapped[str | None] = mapped_column(String(4))  # N, H, L, HH, LL, A
    ref_low: Mapped[Decimal | None]
    ref_high: Mapped[Decimal | None]
    recorded_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff_user.id"))

    components: Mapped[list[ObservationComponent]] = relationship(
        cascade="all, delete-orphan", order_by="ObservationComponent.rank"
    )


class ObservationComponent(Base):
    __tablename__ = "observation_component"

    id: Mapped[str] = uuid_pk()
    observation_id: Mapped[str] = mapped_column(ForeignKey("observation.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    display: Mapped[str] = mapped_column(String(200))
    value: Mapped[Decimal | None]
    unit: Mapped[str | None] = mapped_column(String(30))
    interpretation: Mapped[str | None] = mapped_column(String(4))
    rank: Mapped[int] = mapped_column(Integer, default=0)


@fhir_type("AllergyIntolerance")
class Allergy(SyncMixin, Base):
    __tablename__ = "allergy"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    substance: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(40))
    reaction: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10), default="moderate")  # mild|moderate|severe
    criticality: Mapped[str] = mapped_column(String(16), default="unable-to-assess")
    clinical_status: Mapped[str] = mapped_column(String(20), default="active")
    onset: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str | None] = mapped_column(String(36))


@fhir_type("Condition")
class Problem(SyncMixin, Base):
    __tablename__ = "problem"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(40))
    code_system: Mapped[str | None] = mapped_column(String(200))
    display: Mapped[str] = mapped_column(String(200))
    onset: Mapped[date | None] = mapped_column(Date)
    abatement: Mapped[date | None] = mapped_column(Date)
    clinical_status: Mapped[str] = mapped_column(String(20), default="active")
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]


@fhir_type("MedicationStatement")
class Medication(SyncMixin, Base):
    __tablename__ = "medication"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str | None] = mapped_column(String(100))
    route: Mapped[str | None] = mapped_column(String(40))
    frequency: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_on: Mapped[date | None] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
