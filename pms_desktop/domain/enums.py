"""Enumerations shared by every layer. Values are what is stored and what FHIR uses."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    RECEPTION = "reception"
    CLINICIAN = "clinician"
    PRACTICE_MANAGER = "practice_manager"
    CLINIC_ADMIN = "clinic_admin"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    IN_CONSULTATION = "in-consultation"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "noshow"


class EncounterStatus(StrEnum):
    IN_PROGRESS = "in-progress"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"


class NoteStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    ENTERED_IN_ERROR = "entered-in-error"


class NoteKind(StrEnum):
    NOTE = "note"
    ADDENDUM = "addendum"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    VOID = "void"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    INSURER = "insurer"


class PaymentKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


class Sex(StrEnum):
    """FHIR administrative gender."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    REFUSED = "refused"
    FAILURE = "failure"


class OutboxOp(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    QUARANTINED = "quarantined"
