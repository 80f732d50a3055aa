"""The appointment book's rules and queries: clinic hours, overlaps, unavailable time.

A practitioner can be booked inside their working hours (when any are set; otherwise the
clinic's hours) and outside their leave, and never twice at once unless someone gives a
reason for a deliberate double-book.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..store.models import (
    Appointment,
    AppointmentType,
    Clinic,
    Patient,
    PatientTelecom,
    Practitioner,
    PractitionerLeave,
    WorkingHours,
)
from .scheduling_dto import AppointmentInfo, ClinicHours, Unavailable

BLOCKING = ("booked", "arrived", "in-consultation")


def clinic_hours(session: Session) -> ClinicHours:
    c = session.scalars(select(Clinic)).one()
    return ClinicHours(
        c.timezone or "UTC",
        c.day_start,
        c.day_end,
        c.slot_minutes or 15,
        c.name,
        c.address or "",
        c.phone or "",
    )


def local_dt(d: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=tz)


def day_range(first: date, days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_dt(first, time(0), tz), local_dt(first + timedelta(days=days), time(0), tz)


def practitioner_name(p: Practitioner) -> str:
    return " ".join(x for x in (p.prefix, p.given, p.family) if x)


def info_select() -> Select[*tuple[Any, ...]]:
    """Appointments with everything a view shows, in one query.

    Only the columns the views need, not ORM entities: a week of the book for ten
    practitioners is about a thousand rows, and building four mapped objects a row (with the
    identity map) was most of its time.
    """
    phone = (
        select(PatientTelecom.value)
        .where(PatientTelecom.patient_id == Patient.id, PatientTelecom.system == "phone")
        .order_by(PatientTelecom.rank)
        .limit(1)
        .correlate(Patient)
        .scalar_subquery()
    )
    return (
        select(
            Appointment.id,
            Appointment.patient_id,
            Patient.given,
            Patient.family,
            Patient.birth_date,
            Appointment.practitioner_id,
            Practitioner.prefix.label("prac_prefix"),
            Practitioner.given.label("prac_given"),
            Practitioner.family.label("prac_family"),
            Appointment.appointment_type_id,
            AppointmentType.name.label("type_name"),
            AppointmentType.colour.label("type_colour"),
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Appointment.note,
            Appointment.cancel_reason,
            Appointment.arrived_at,
            Appointment.overbook_reason,
            Appointment.recurrence_id,
            phone.label("phone"),
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .outerjoin(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
    )


def info_of(row: Any) -> AppointmentInfo:
    """One row of ``info_select()`` as an ``AppointmentInfo`` (unpacked by position: fast)."""
    (aid, patient_id, given, family, birth_date, prac_id, prac_prefix, prac_given, prac_family,
     type_id, type_name, type_colour, start_at, end_at, status, note, cancel_reason, arrived_at,
     overbook_reason, recurrence_id, phone) = row  # fmt: skip
    return AppointmentInfo(
        aid,
        patient_id,
        f"{family.upper()}, {given}",
        birth_date,
        prac_id,
        " ".join(x for x in (prac_prefix, prac_given, prac_family) if x),
        type_id,
        "Appointment" if type_name is None else type_name,
        "#9aa7b4" if type_colour is None else type_colour,
        start_at,
        end_at,
        status,
        note or "",
        cancel_reason or "",
        arrived_at,
        overbook_reason or "",
        recurrence_id,
        phone or "",
        given,
        family,
    )


def load_info(session: Session, appointment_id: str) -> AppointmentInfo:
    return info_of(session.execute(info_select().where(Appointment.id == appointment_id)).one())


def overlapping(
    session: Session,
    practitioner_id: str,
    start: datetime,
    end: datetime,
    exclude_id: str | None = None,
) -> list[tuple[Appointment, Patient]]:
    q = (
        select(Appointment, Patient)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.start_at < end,
            Appointment.end_at > start,
            Appointment.status.in_(BLOCKING),
        )
    )
    if exclude_id:
        q = q.where(Appointment.id != exclude_id)
    return [(a, p) for a, p in session.execute(q.order_by(Appointment.start_at))]


def _hours_by_weekday(
    session: Session, ids: Sequence[str], day: date
) -> dict[str, dict[int, list[tuple[time, time]]]]:
    out: dict[str, dict[int, list[tuple[time, time]]]] = {}
    for wh in session.scalars(select(WorkingHours).where(WorkingHours.practitioner_id.in_(ids))):
        if (wh.valid_from and wh.valid_from > day) or (wh.valid_to and wh.valid_to < day):
            continue
        out.setdefault(wh.practitioner_id, {}).setdefault(wh.weekday, []).append(
            (wh.start_time, wh.end_time)
        )
    return out


def unavailable(
    session: Session, ids: Sequence[str], first: date, days: int, hours: ClinicHours
) -> list[Unavailable]:
    """Outside working hours (within the clinic's day) and leave, for these practitioners."""
    tz = ZoneInfo(hours.timezone)
    out: list[Unavailable] = []
    by_prac = _hours_by_weekday(session, ids, first)
    for pid, weekly in by_prac.items():
        for n in range(days):
            d = first + timedelta(days=n)
            spans = sorted(weekly.get(d.weekday(), []))
            cursor = hours.day_start
            for s, e in spans + [(hours.day_end, hours.day_end)]:
                if s > cursor:
                    out.append(
                        Unavailable(
                            pid,
                            local_dt(d, cursor, tz),
                            local_dt(d, min(s, hours.day_end), tz),
                            "Not working",
                        )
                    )
                cursor = max(cursor, e)
    start, end = day_range(first, days, tz)
    for leave in session.scalars(
        select(PractitionerLeave).where(
            PractitionerLeave.practitioner_id.in_(ids),
            PractitionerLeave.cancelled.is_(False),
            PractitionerLeave.start_at < end,
            PractitionerLeave.end_at > start,
        )
    ):
        out.append(
            Unavailable(
                leave.practitioner_id, leave.start_at, leave.end_at, leave.reason or "Leave"
            )
        )
    return out


def availability_problem(
    session: Session, practitioner_id: str, start: datetime, end: datetime, hours: ClinicHours
) -> str | None:
    """Why this practitioner cannot be booked then, or None."""
    tz = ZoneInfo(hours.timezone)
    day = start.astimezone(tz).date()
    clashes = {
        u.reason
        for u in unavailable(session, [practitioner_id], day, 1, hours)
        if u.start_at < end and u.end_at > start
    }
    if clashes - {"Not working"}:
        return "on leave"
    return "not working at that time" if clashes else None
