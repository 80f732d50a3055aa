"""How a day is written for reading, the same on every screen: '17 May 1980', 'Mon 23 Nov 2026',
'17 May 1980 14:05'.

The month in words, never only in digits (03/04 is March to some and April to others), the day
without a leading zero, as the reports and the appointment book already wrote it. Times of day
stay 24-hour HH:MM. Fields a date is typed into keep their digits (dd/MM/yyyy); CSV and file
names keep ISO.
"""

from __future__ import annotations

from datetime import date, datetime

DAY = "d MMM yyyy"  # QDateEdit.setDisplayFormat
WEEKDAY_DAY = "ddd d MMM yyyy"


def day_text(day: date) -> str:
    """'17 May 1980'."""
    return f"{day.day} {day:%b %Y}"


def weekday_day_text(day: date) -> str:
    """'Mon 23 Nov 2026'."""
    return f"{day:%a} {day_text(day)}"


def day_time_text(at: datetime, *, seconds: bool = False) -> str:
    """'17 May 1980 14:05' ('14:05:09' with seconds), in the zone `at` is already in."""
    return f"{day_text(at)} {at:%H:%M:%S}" if seconds else f"{day_text(at)} {at:%H:%M}"


def weekday_day_month_text(day: date) -> str:
    """'Mon 23 Nov', where the year is plain from the screen (the book's columns)."""
    return f"{day:%a} {day.day} {day:%b}"
