"""Typed UUID ids. Records made offline on different workstations never collide."""

from __future__ import annotations

import uuid
from typing import NewType

PatientId = NewType("PatientId", str)
PractitionerId = NewType("PractitionerId", str)
StaffUserId = NewType("StaffUserId", str)
AppointmentId = NewType("AppointmentId", str)
EncounterId = NewType("EncounterId", str)
NoteId = NewType("NoteId", str)
InvoiceId = NewType("InvoiceId", str)
ClinicId = NewType("ClinicId", str)
WorkstationId = NewType("WorkstationId", str)


def new_id() -> str:
    """A fresh random UUID, as text: also the record's FHIR resource id."""
    return str(uuid.uuid4())
