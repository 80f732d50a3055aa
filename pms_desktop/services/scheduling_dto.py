"""What the scheduling service hands back: plain frozen dataclasses (times are aware UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

ACTIVE_STATUSES = ("booked", "arrived", "in-consultation", "completed")


@dataclass(frozen=True)
class ClinicHours:
    timezone: str
    day_start: time
    day_end: time
    slot_minutes: int
    clinic_name: str = ""
    clinic_address: str = ""
    clinic_phone: str = ""


@dataclass(frozen=True)
class PractitionerInfo:
    id: str
    name: str
    colour: str
    specialty: str = ""


@dataclass(frozen=True)
class AppointmentTypeInfo:
    id: str
    name: str
    duration_minutes: int
    colour: str
    active: bool = True


@dataclass(frozen=True)
class AppointmentInfo:
    id: str
    patient_id: str
    patient_name: str
    patient_birth_date: date | None
    practitioner_id: str
    practitioner_name: str
    type_id: str | None
    type_name: str
    type_colour: str
    start_at: datetime
    end_at: datetime
    status: str
    note: str = ""
    cancel_reason: str = ""
    arrived_at: datetime | None = None
    overbook_reason: str = ""
    recurrence_id: str | None = None
    patient_phone: str = ""
    patient_given: str = ""
    patient_family: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Unavailable:
    """A stretch of time a practitioner cannot be booked: outside working hours or leave."""

    practitioner_id: str
    start_at: datetime
    end_at: datetime
    reason: str


@dataclass(frozen=True)
class BookView:
    first_day: date
    days: int
    hours: ClinicHours
    practitioners: tuple[PractitionerInfo, ...]
    appointments: tuple[AppointmentInfo, ...]
    unavailable: tuple[Unavailable, ...]


@dataclass(frozen=True)
class WaitingEntry:
    appointment_id: str
    patient_id: str
    patient_name: str
    practitioner_id: str
    practitioner_name: str
    type_name: str
    start_at: datetime
    arrived_at: datetime
    status: str
    alerts: int = 0


@dataclass(frozen=True)
class WorkingHoursInfo:
    id: str
    practitioner_id: str
    weekday: int
    start_time: time
    end_time: time


@dataclass(frozen=True)
class LeaveInfo:
    id: str
    practitioner_id: str
    start_at: datetime
    end_at: datetime
    reason: str
    # Appointments still booked inside the leave (they are not moved: someone rebooks them).
    appointments_inside: int = 0
