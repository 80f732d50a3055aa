"""The day's appointment list, one page (or more) per practitioner, as a PDF.

Each practitioner's list starts on its own page under the clinic's letterhead, so that the
pages can be handed out separately. Takes plain values (the appointment rows are any objects
with the attributes of ``DayRow``, such as the scheduling service's ``AppointmentInfo``); no
database, no Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from ..domain.dates import day_text, day_time_text, long_weekday_day_text
from .letterhead import (
    CONFIDENTIAL,
    MUTED,
    Letterhead,
    build_pdf,
    letterhead_flowables,
    styles,
    table_style,
    text_width,
)

STATUS = {
    "booked": "Booked",
    "arrived": "Arrived",
    "in-consultation": "In consultation",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "noshow": "Did not attend",
}


class DayRow(Protocol):
    practitioner_id: str
    patient_name: str
    patient_birth_date: date | None
    patient_phone: str
    type_name: str
    start_at: datetime
    end_at: datetime
    status: str
    note: str
    cancel_reason: str


@dataclass(frozen=True)
class DayListDocument:
    head: Letterhead
    day: date
    timezone: str
    practitioners: tuple[tuple[str, str], ...]  # (id, name) in the order printed
    appointments: tuple[Any, ...]  # DayRow
    printed_at: datetime  # local time


def day_list_pdf(doc: DayListDocument) -> bytes:
    tz = ZoneInfo(doc.timezone)
    st = styles()
    width = text_width()
    story: list[Flowable] = []
    for n, (pid, name) in enumerate(doc.practitioners):
        rows = sorted(
            (a for a in doc.appointments if a.practitioner_id == pid), key=lambda a: a.start_at
        )
        active = [a for a in rows if a.status != "cancelled"]
        count = f"{len(active)} appointment{'s' if len(active) != 1 else ''}"
        if n:
            story.append(PageBreak())
        story += letterhead_flowables(doc.head, width, tax=False)
        story += [
            Paragraph("Day list", st["title"]),
            Spacer(1, 2 * mm),
            Paragraph(escape(name), st["h2"]),
            Paragraph(f"{long_weekday_day_text(doc.day)} · {count}", st["subtitle"]),
            Spacer(1, 5 * mm),
            _table(rows, tz, st, width) if rows else Paragraph("No appointments.", st["body"]),
        ]
    if not doc.practitioners:
        story += letterhead_flowables(doc.head, width, tax=False)
        story += [Paragraph("Day list", st["title"]), Paragraph("No practitioners.", st["body"])]
    title = f"Day list {day_text(doc.day)}"
    note = f"{title} · {CONFIDENTIAL} · printed {day_time_text(doc.printed_at)}"
    return build_pdf(story, doc.head, title=title, tax=False, note=note)


def _table(rows: Sequence[Any], tz: ZoneInfo, st: dict[str, Any], width: float) -> Table:
    """One row an appointment; the note (or the reason for a cancellation) under the name,
    where it has the width to stay on a line or two."""
    head = ["Time", "Patient", "Born", "Phone", "Type", "Status"]
    data: list[list[Any]] = [[Paragraph(h, st["head"]) for h in head]]
    faded = {k: ParagraphStyle(f"{k}-faded", parent=st[k], textColor=MUTED)
             for k in ("cell", "cellb")}
    note_style = ParagraphStyle("note", parent=st["small"], fontSize=8, leading=10)
    for a in rows:
        cell = faded if a.status in ("cancelled", "noshow") else st
        start, end = a.start_at.astimezone(tz), a.end_at.astimezone(tz)
        note = f"Cancelled: {a.cancel_reason}" if a.status == "cancelled" else a.note
        born = day_text(a.patient_birth_date) if a.patient_birth_date else ""
        patient = [Paragraph(escape(a.patient_name), cell["cellb"])]
        if note and note.strip(": "):
            patient.append(Paragraph(escape(note), note_style))
        data.append(
            [
                f"{start:%H:%M}–{end:%H:%M}",
                patient,
                born,
                a.patient_phone or "",
                Paragraph(escape(a.type_name), cell["cell"]),
                Paragraph(escape(STATUS.get(a.status, a.status)), cell["cell"]),
            ]
        )
    # Born fits '28 May 1948' (the month in words takes more than 28/05/1948 did).
    fixed = [22 * mm, 26 * mm, 26 * mm, 30 * mm, 29 * mm]
    widths = [fixed[0], width - sum(fixed), *fixed[1:]]
    table = Table(data, colWidths=widths, repeatRows=1)
    style = table_style(len(rows))
    style += [
        ("FONT", (0, 1), (-1, -1), st["cell"].fontName, 9),
        ("TEXTCOLOR", (0, 1), (-1, -1), st["cell"].textColor),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, a in enumerate(rows, start=1):
        if a.status in ("cancelled", "noshow"):
            style.append(("TEXTCOLOR", (0, i), (-1, i), MUTED))
    table.setStyle(TableStyle(style))
    return table
