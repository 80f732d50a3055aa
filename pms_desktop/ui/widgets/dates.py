"""How a day is written for reading, the same on every screen: '17 May 1980', 'Mon 23 Nov 2026'.

The month in words, never only in digits (03/04 is March to some and April to others), the day
without a leading zero, as the reports and the appointment book already wrote it. Fields a date
is typed into keep their digits (dd/MM/yyyy).
"""

from __future__ import annotations

from datetime import date

DAY = "d MMM yyyy"  # QDateEdit.setDisplayFormat
WEEKDAY_DAY = "ddd d MMM yyyy"


def day_text(day: date) -> str:
    """'17 May 1980'."""
    return f"{day.day} {day:%b %Y}"
