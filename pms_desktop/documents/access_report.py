"""The per-patient "who accessed this record" report (PDF, reportlab).

Patients are entitled to ask for it. Plain data in, a file out: no database, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

ACTION_WORDS = {
    "break_glass.grant": "Emergency access granted",
    "audit.access_report": "This report was produced",
}


@dataclass(frozen=True)
class AccessReportRow:
    at: datetime  # in the clinic's time zone
    username: str
    role: str
    action: str
    outcome: str
    break_glass: bool
    reason: str


def _action_text(row: AccessReportRow) -> str:
    return ACTION_WORDS.get(row.action, row.action.replace(".", " ").replace("_", " ").capitalize())


def write_access_report(out: Path, *, clinic: str, patient_name: str, birth_date: date,
                        rows: list[AccessReportRow], generated_at: datetime) -> Path:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    doc = SimpleDocTemplate(str(out), pagesize=landscape(A4), leftMargin=15 * mm,
                            rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"Access report: {patient_name}", author=clinic)
    story = [
        Paragraph(escape(clinic), styles["Heading2"]),
        Paragraph("Who accessed this record", styles["Title"]),
        Paragraph(f"Patient: <b>{escape(patient_name)}</b> (born {birth_date:%d %b %Y})", styles["BodyText"]),
        Paragraph(f"Produced {generated_at:%d %b %Y %H:%M %Z}. {len(rows)} entries from the "
                  "clinic's tamper-evident access log.", styles["BodyText"]),
        Spacer(1, 6 * mm),
    ]
    data: list[list[object]] = [["When", "Staff member", "Role", "What", "Outcome", "Emergency reason"]]
    for r in rows:
        data.append([
            f"{r.at:%d %b %Y %H:%M}", r.username, r.role.replace("_", " "), _action_text(r),
            r.outcome, Paragraph(escape("EMERGENCY ACCESS: " + r.reason) if r.break_glass else "", small),
        ])
    if not rows:
        data.append(["", "No access to this record has been logged.", "", "", "", ""])
    table = LongTable(data, repeatRows=1,
                      colWidths=[35 * mm, 40 * mm, 30 * mm, 60 * mm, 22 * mm, 80 * mm])
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2f4858")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f7")]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8d0d6")),
    ]
    for i, r in enumerate(rows, start=1):
        if r.break_glass:
            style.append(("TEXTCOLOR", (0, i), (-1, i), colors.HexColor("#b00020")))
    table.setStyle(TableStyle(style))
    story.append(table)
    doc.build(story)
    return out
