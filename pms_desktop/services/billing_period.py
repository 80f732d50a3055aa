"""Clinic-local days as UTC instants: reports and lists count days in the clinic's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a clinic-local day, as aware UTC datetimes."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def period_bounds(date_from: date, date_to: date, tz: str) -> tuple[datetime, datetime]:
    return day_bounds(date_from, tz)[0], day_bounds(date_to, tz)[1]


def local_date(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def local_time(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))
