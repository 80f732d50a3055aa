"""The day's appointment list, one section (and page) per practitioner, as a PDF.

Takes plain values (the appointment rows are any objects with the attributes used below, such
as the scheduling service's ``AppointmentInfo``); no database, no Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .pdf_base import MUTED, RULE, SHADE, ClinicHeading, page_frame, styles

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


def render_day_list(
    out: Path,
    *,
    heading: ClinicHeading,
    day: date,
    timezone: str,
    practitioners: Sequence[tuple[str, str]],
    appointments: Sequence[Any],
    printed_at: datetime,
) -> Path:
    tz = ZoneInfo(timezone)
    st = styles()
    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=26 * mm,
        bottomMargin=20 * mm,
        title=f"Day list {day:%d/%m/%Y}",
    )
    story: list[Any] = []
    for n, (pid, name) in enumerate(practitioners):
        rows = sorted(
            (a for a in appointments if a.practitioner_id == pid), key=lambda a: a.start_at
        )
        if n:
            story.append(PageBreak())
        story.append(Paragraph(escape(name), st["h1"]))
        active = [a for a in rows if a.status not in ("cancelled",)]
        story.append(
            Paragraph(
                f"{day:%A %d %B %Y} · {len(active)} appointment{'s' if len(active) != 1 else ''}",
                st["small"],
            )
        )
        story.append(Spacer(1, 5 * mm))
        story.append(_table(rows, tz, st) if rows else Paragraph("No appointments.", st["body"]))
    doc.build(
        story,
        onFirstPage=page_frame(heading, "Day list", printed_at),
        onLaterPages=page_frame(heading, "Day list", printed_at),
    )
    return out


def _table(rows: Sequence[Any], tz: ZoneInfo, st: dict[str, Any]) -> Table:
    data: list[list[Any]] = [["Time", "Patient", "Born", "Phone", "Type", "Status", "Note"]]
    for a in rows:
        start, end = a.start_at.astimezone(tz), a.end_at.astimezone(tz)
        note = a.cancel_reason if a.status == "cancelled" else a.note
        born = f"{a.patient_birth_date:%d/%m/%Y}" if a.patient_birth_date else ""
        data.append(
            [
                f"{start:%H:%M}–{end:%H:%M}",
                Paragraph(escape(a.patient_name), st["cellb"]),
                born,
                a.patient_phone or "",
                Paragraph(escape(a.type_name), st["cell"]),
                STATUS.get(a.status, a.status),
                Paragraph(escape(note or ""), st["cell"]),
            ]
        )
    widths = [24 * mm, 42 * mm, 20 * mm, 26 * mm, 26 * mm, 22 * mm, None]
    table = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, 0), st["cellb"].fontName, 8.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
        ("FONT", (0, 1), (-1, -1), st["cell"].fontName, 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    for i, a in enumerate(rows, start=1):
        if i % 2 == 0:
            style.append(("BACKGROUND", (0, i), (-1, i), SHADE))
        if a.status in ("cancelled", "noshow"):
            style.append(("TEXTCOLOR", (0, i), (-1, i), MUTED))
    table.setStyle(TableStyle(style))
    return table
