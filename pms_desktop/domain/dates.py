"""How a day is written for a person to read, the same on every screen and in every message:
'17 May 1980', 'Mon 23 Nov 2026', 'Mon 23 Nov', '17 May 1980 14:05'; the names in full where
there is room and the words are read as a sentence or aloud (a printed heading, a letter, a
screen reader): '4 January 2001', 'Monday 23 November 2026'.

The month in words, never only in digits (03/04 is March to some and April to others), the day
without a leading zero. Times of day are 24-hour HH:MM. Dates a person types keep their digits
(dd/MM/yyyy); CSV and file names keep ISO. No I/O and no Qt here: services write their messages
with these, and ui/widgets/dates adds the Qt display formats.
"""

from __future__ import annotations

from datetime import date, datetime


def day_text(day: date) -> str:
    """'17 May 1980'."""
    return f"{day.day} {day:%b %Y}"


def weekday_day_text(day: date) -> str:
    """'Mon 23 Nov 2026'."""
    return f"{day:%a} {day_text(day)}"


def weekday_day_month_text(day: date) -> str:
    """'Mon 23 Nov', where the year is plain from the context (the book's columns)."""
    return f"{day:%a} {day.day} {day:%b}"


def day_time_text(at: datetime, *, seconds: bool = False) -> str:
    """'17 May 1980 14:05' ('14:05:09' with seconds), in the zone `at` is already in."""
    return f"{day_text(at)} {at:%H:%M:%S}" if seconds else f"{day_text(at)} {at:%H:%M}"


def long_day_text(day: date) -> str:
    """'4 January 2001': a letter's date, a screen reader's words ('Jan' is read as a name)."""
    return f"{day.day} {day:%B %Y}"


def long_weekday_day_text(day: date) -> str:
    """'Monday 23 November 2026': the heading of a printed page, an appointment card."""
    return f"{day:%A} {long_day_text(day)}"
