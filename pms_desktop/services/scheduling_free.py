"""Finding the next free slot of a practitioner: on the clinic's slot grid, inside the clinic's
day and the practitioner's working hours, outside leave and other appointments."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Appointment
from . import scheduling_rules as rules


def _round_up(t: datetime, minutes: int, day_start: datetime) -> datetime:
    step = timedelta(minutes=minutes)
    if t <= day_start:
        return day_start
    n = -(-(t - day_start) // step)  # ceiling division of timedeltas
    return day_start + n * step


def find_free_slot(
    session: Session, practitioner_id: str, after: datetime, minutes: int, search_days: int
) -> datetime | None:
    hours = rules.clinic_hours(session)
    tz = ZoneInfo(hours.timezone)
    first = after.astimezone(tz).date()
    horizon_start, horizon_end = rules.day_range(first, search_days, tz)
    busy = [
        (a.start_at, a.end_at)
        for a in session.scalars(
            select(Appointment).where(
                Appointment.practitioner_id == practitioner_id,
                Appointment.start_at < horizon_end,
                Appointment.end_at > horizon_start,
                Appointment.status.in_(rules.BLOCKING),
            )
        )
    ]
    busy += [
        (u.start_at, u.end_at)
        for u in rules.unavailable(session, [practitioner_id], first, search_days, hours)
    ]
    length = timedelta(minutes=minutes)
    for n in range(search_days):
        day = first + timedelta(days=n)
        open_at = rules.local_dt(day, hours.day_start, tz)
        close_at = rules.local_dt(day, hours.day_end, tz)
        t = _round_up(after, hours.slot_minutes, open_at)
        while t + length <= close_at:
            clash = [e for s, e in busy if s < t + length and e > t]
            if not clash:
                return t
            t = _round_up(max(clash), hours.slot_minutes, open_at)
    return None
