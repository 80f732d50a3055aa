"""A small shared frame for reception printouts: clinic letterhead line, title, page footer.

Reusable by any document that wants the same header (day lists, appointment cards, labels).
No database, no Qt: it takes plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .letterhead import fonts

ACCENT = colors.HexColor("#1f6f8b")
INK = colors.HexColor("#17324a")
MUTED = colors.HexColor("#5f6b7a")
RULE = colors.HexColor("#d5dce4")
SHADE = colors.HexColor("#eef3f8")


@dataclass(frozen=True)
class ClinicHeading:
    name: str
    address: str = ""
    phone: str = ""

    def contact_line(self) -> str:
        parts = [" ".join(self.address.split()) if self.address else "", self.phone]
        return " · ".join(p for p in parts if p)


def styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    return {
        "body": ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12, textColor=INK),
        "small": ParagraphStyle("small", fontName=regular, fontSize=8, leading=10, textColor=MUTED),
        "h1": ParagraphStyle(
            "h1", fontName=bold, fontSize=15, leading=19, textColor=INK, spaceAfter=2
        ),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=11.5, leading=15, textColor=ACCENT, spaceBefore=6
        ),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11, textColor=INK),
        "cellb": ParagraphStyle("cellb", fontName=bold, fontSize=9, leading=11, textColor=INK),
    }


def page_frame(
    heading: ClinicHeading, title: str, printed_at: datetime
) -> Callable[[Canvas, Any], None]:
    """An ``onPage`` callback drawing the clinic line at the top and a footer with page numbers."""
    regular, bold = fonts()

    def draw(canvas: Canvas, doc: Any) -> None:
        width, height = doc.pagesize
        left, right = doc.leftMargin, width - doc.rightMargin
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(0, height - 6 * mm, width, 6 * mm, stroke=0, fill=1)
        canvas.setFillColor(INK)
        canvas.setFont(bold, 11)
        canvas.drawString(left, height - 14 * mm, heading.name)
        canvas.setFont(regular, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(left, height - 18.5 * mm, heading.contact_line())
        canvas.drawRightString(right, height - 14 * mm, title)
        canvas.setStrokeColor(RULE)
        canvas.line(left, height - 21 * mm, right, height - 21 * mm)
        canvas.line(left, 14 * mm, right, 14 * mm)
        canvas.drawString(
            left,
            9.5 * mm,
            f"Printed {printed_at:%d/%m/%Y %H:%M} · Confidential patient information",
        )
        canvas.drawRightString(right, 9.5 * mm, f"Page {doc.page}")
        canvas.restoreState()

    return draw
