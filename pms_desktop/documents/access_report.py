"""The per-patient "who accessed this record" report (PDF, reportlab).

Patients are entitled to ask for it. Plain data in, PDF bytes out, under the clinic's
letterhead: no database, no Qt, no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, LongTable, Paragraph, Spacer, TableStyle

from ..domain.dates import day_text, day_time_text
from .letterhead import (
    ALERT,
    CONFIDENTIAL,
    Letterhead,
    build_pdf,
    letterhead_flowables,
    styles,
    table_style,
    text_width,
)

PAGE = landscape(A4)
ACTION_WORDS = {
    "break_glass.grant": "Emergency access granted",
    "audit.access_report": "This report was produced",
}
# Widths in mm; each heading fits its column on one line (with the cells' 6 pt paddings).
COLUMNS = (("When", 35), ("Staff member", 28), ("Role", 33), ("What", 49), ("Outcome", 21),
           ("Emergency reason", None))


@dataclass(frozen=True)
class AccessReportRow:
    at: datetime  # in the clinic's time zone
    username: str
    role: str
    action: str
    outcome: str
    break_glass: bool
    reason: str


@dataclass(frozen=True)
class AccessReport:
    head: Letterhead
    patient_name: str
    birth_date: date
    rows: tuple[AccessReportRow, ...]
    generated_at: datetime  # in the clinic's time zone


def _action_text(row: AccessReportRow) -> str:
    return ACTION_WORDS.get(row.action, row.action.replace(".", " ").replace("_", " ").capitalize())


def _table(rows: tuple[AccessReportRow, ...], width: float) -> LongTable:
    st = styles()
    cell, alert = st["cell"], ParagraphStyle("alert", parent=st["cell"], textColor=ALERT)
    data: list[list[object]] = [[Paragraph(t, st["head"]) for t, _ in COLUMNS]]
    for r in rows:
        style = alert if r.break_glass else cell
        values = [day_time_text(r.at), r.username, r.role.replace("_", " "), _action_text(r),
                  r.outcome, "EMERGENCY ACCESS: " + r.reason if r.break_glass else ""]
        data.append([Paragraph(escape(v), style) for v in values])
    if not rows:
        data.append(["", Paragraph("No access to this record has been logged.", cell)] + [""] * 4)
    fixed = [w * mm for _, w in COLUMNS if w is not None]
    table = LongTable(data, repeatRows=1, colWidths=[*fixed, width - sum(fixed)])
    table.setStyle(TableStyle([*table_style(len(rows)), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def access_report_pdf(report: AccessReport) -> bytes:
    st = styles()
    width = text_width(PAGE)
    n = len(report.rows)
    story: list[Flowable] = [
        *letterhead_flowables(report.head, width, tax=False),
        Paragraph("Who accessed this record", st["title"]),
        Spacer(1, 3 * mm),
        Paragraph(f"Patient: <b>{escape(report.patient_name)}</b> "
                  f"(born {day_text(report.birth_date)})", st["body"]),
        Paragraph(f"Produced {day_time_text(report.generated_at)} {report.generated_at:%Z}. {n} "
                  f"entr{'ies' if n != 1 else 'y'} from the clinic's tamper-evident access log.",
                  st["subtitle"]),
        Spacer(1, 6 * mm),
        _table(report.rows, width),
    ]
    return build_pdf(story, report.head, title=f"Access report: {report.patient_name}",
                     pagesize=PAGE, tax=False, note=CONFIDENTIAL)
