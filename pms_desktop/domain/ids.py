"""Typed UUID ids. Records made offline on different workstations never collide."""

from __future__ import annotations

import os
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
    """A fresh random UUID (version 4: 122 random bits), as text: also the record's FHIR
    resource id. Written out directly: ``str(uuid.uuid4())`` cost twice as much, and a pulled
    page makes one for every child row it adds (identifiers, telecoms, lines...)."""
    x = os.urandom(16).hex()
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) & 3]}{x[17:20]}-{x[20:]}"
