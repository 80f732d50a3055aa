"""How a day is written for reading on every screen: the Qt display formats of a QDateEdit
('4 Jan 2001', 'Mon 23 Nov 2026') beside the text helpers of domain/dates, which the services'
messages share.

Fields a date is typed into keep their digits (dd/MM/yyyy).
"""

from __future__ import annotations

from ...domain.dates import (
    day_text,
    day_time_text,
    long_day_text,
    long_weekday_day_text,
    weekday_day_month_text,
    weekday_day_text,
)

__all__ = ["DAY", "WEEKDAY_DAY", "day_text", "day_time_text", "long_day_text",
           "long_weekday_day_text", "weekday_day_month_text", "weekday_day_text"]

DAY = "d MMM yyyy"  # QDateEdit.setDisplayFormat
WEEKDAY_DAY = "ddd d MMM yyyy"
