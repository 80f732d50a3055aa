"""An appointment card for the patient to take home (A6, landscape), as a PDF.

Plain values in; no database, no Qt. It carries only what the patient needs: who, when,
where, and how to change it, under the clinic's heading (the compact form of the letterhead).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A6, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..domain.dates import long_weekday_day_text
from .letterhead import FRAME_PADDING, MUTED, RULE, Letterhead, compact_heading, fonts, styles

PAGE = landscape(A6)
MARGIN = 9 * mm
NOTICE = "Please arrive 5 minutes early. If you cannot come, let us know at least 24 hours before."


@dataclass(frozen=True)
class AppointmentCard:
    head: Letterhead
    patient_name: str
    practitioner_name: str
    start_local: datetime
    minutes: int
    type_name: str


def _footer(head: Letterhead) -> Any:
    regular, _bold = fonts()

    def draw(canvas: Canvas, doc: Any) -> None:
        width = PAGE[0]
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, 15 * mm, width - MARGIN, 15 * mm)
        canvas.setFillColor(MUTED)
        canvas.setFont(regular, 7)
        canvas.drawString(MARGIN, 10.5 * mm, NOTICE)
        canvas.drawString(MARGIN, 6.5 * mm, (head.legal_name or head.name)[:110])
        canvas.restoreState()

    return draw


def appointment_card_pdf(card: AppointmentCard) -> bytes:
    st = styles()
    width = PAGE[0] - 2 * MARGIN
    label = ParagraphStyle("card-label", parent=st["small"], fontSize=8)
    big = ParagraphStyle("card-when", parent=st["bold"], fontSize=14, leading=17)
    value = ParagraphStyle("card-value", parent=st["bold"], fontSize=11.5, leading=14)
    plain = ParagraphStyle("card-plain", parent=st["body"], fontSize=10.5, leading=13)
    when = [
        Paragraph(long_weekday_day_text(card.start_local), big),
        Paragraph(
            escape(f"at {card.start_local:%H:%M} ({card.minutes} minutes) · {card.type_name}"),
            plain,
        ),
    ]
    rows = [
        [Paragraph("For", label), Paragraph(escape(card.patient_name), value)],
        [Paragraph("When", label), when],
        [Paragraph("With", label), Paragraph(escape(card.practitioner_name), value)],
    ]
    body = Table(rows, colWidths=[16 * mm, width - 16 * mm])
    body.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm),
                ("TOPPADDING", (0, 0), (0, -1), 2.5),  # labels on the values' baseline
            ]
        )
    )
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=PAGE,
        leftMargin=MARGIN - FRAME_PADDING,
        rightMargin=MARGIN - FRAME_PADDING,
        topMargin=7 * mm - FRAME_PADDING,
        bottomMargin=17 * mm - FRAME_PADDING,
        title="Appointment card",
        author=card.head.name,
    )
    footer = _footer(card.head)
    story = [*compact_heading(card.head, width), Spacer(1, 5 * mm), body]
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
