"""An appointment card for the patient to take home (A6, landscape), as a PDF.

Plain values in; no database, no Qt. It carries only what the patient needs: who, when,
where, and how to change it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reportlab.lib.pagesizes import A6, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .letterhead import fonts
from .pdf_base import ACCENT, INK, MUTED, RULE, ClinicHeading


def render_appointment_card(
    out: Path,
    *,
    heading: ClinicHeading,
    patient_name: str,
    practitioner_name: str,
    start_local: datetime,
    minutes: int,
    type_name: str,
) -> Path:
    regular, bold = fonts()
    width, height = landscape(A6)
    c = Canvas(str(out), pagesize=(width, height))
    c.setTitle("Appointment card")
    c.setFillColor(ACCENT)
    c.rect(0, height - 16 * mm, width, 16 * mm, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setFont(bold, 13)
    c.drawString(10 * mm, height - 10.5 * mm, heading.name)
    c.setFont(regular, 8)
    c.drawRightString(width - 10 * mm, height - 10.5 * mm, "Your appointment")
    c.setFillColor(MUTED)
    c.setFont(regular, 8.5)
    c.drawString(10 * mm, height - 25 * mm, "For")
    c.drawString(10 * mm, height - 40 * mm, "When")
    c.drawString(10 * mm, height - 62 * mm, "With")
    c.setFillColor(INK)
    c.setFont(bold, 12)
    c.drawString(26 * mm, height - 25 * mm, patient_name)
    c.setFont(bold, 15)
    c.drawString(26 * mm, height - 40 * mm, f"{start_local:%A %d %B %Y}")
    c.setFont(regular, 12)
    c.drawString(
        26 * mm, height - 47 * mm, f"at {start_local:%H:%M} ({minutes} minutes) · {type_name}"
    )
    c.setFont(bold, 11)
    c.drawString(26 * mm, height - 62 * mm, practitioner_name)
    c.setStrokeColor(RULE)
    c.line(10 * mm, 20 * mm, width - 10 * mm, 20 * mm)
    c.setFillColor(MUTED)
    c.setFont(regular, 7.5)
    c.drawString(10 * mm, 14 * mm, heading.contact_line()[:110])
    c.drawString(
        10 * mm,
        9 * mm,
        "Please arrive 5 minutes early. If you cannot come, let us know at least 24 hours before.",
    )
    c.showPage()
    c.save()
    return out
