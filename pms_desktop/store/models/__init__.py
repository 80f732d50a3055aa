"""ORM models of the whole clinic. Importing this package registers every table."""

from .base import RESOURCE_TYPES, Base, SyncMixin, utcnow
from .billing import (
    CreditNote,
    CreditNoteLine,
    FeeItem,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
)
from .clinic import (
    Clinic,
    NumberSeries,
    Practitioner,
    PractitionerLeave,
    Setting,
    StaffUser,
    WorkingHours,
    Workstation,
)
from .clinical import (
    Allergy,
    ClinicalNote,
    DiagnosticReport,
    Encounter,
    Medication,
    NoteTemplate,
    Observation,
    ObservationComponent,
    Problem,
)
from .patient import (
    Consent,
    Coverage,
    Patient,
    PatientAlert,
    PatientIdentifier,
    PatientMerge,
    PatientTelecom,
    RelatedPerson,
)
from .schedule import Appointment, AppointmentType
from .system import (
    AuditEntry,
    BreakGlassGrant,
    OutboxChange,
    SyncBase,
    SyncConflict,
    SyncState,
)

__all__ = [
    "RESOURCE_TYPES", "Base", "SyncMixin", "utcnow",
    "CreditNote", "CreditNoteLine", "FeeItem", "Invoice", "InvoiceLine", "Payment",
    "PaymentAllocation", "Clinic", "NumberSeries", "Practitioner", "PractitionerLeave",
    "Setting", "StaffUser", "WorkingHours", "Workstation", "Allergy", "ClinicalNote",
    "DiagnosticReport", "Encounter", "Medication", "NoteTemplate", "Observation",
    "ObservationComponent", "Problem", "Consent", "Coverage", "Patient", "PatientAlert",
    "PatientIdentifier", "PatientMerge", "PatientTelecom", "RelatedPerson", "Appointment",
    "AppointmentType", "AuditEntry", "BreakGlassGrant", "OutboxChange", "SyncBase",
    "SyncConflict", "SyncState",
]
