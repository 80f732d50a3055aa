"""Reports for the practice manager (REPORTS permission): each on screen, as PDF and as CSV.

Every report says what it counts by: invoice date (revenue, ageing), payment date (takings) or
appointment date (day sheet, no-shows, not invoiced). Figures are exact sums of minor units
taken straight from the invoices, credit notes and payments. Running a report is audited (it
lists patients' names and money).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..documents.report_csv import render_report_csv
from ..documents.report_pdf import ReportTable, render_report_pdf
from ..domain.dates import day_time_text
from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..domain.session import StaffSession
from . import billing_queries as q
from . import reports_appointments as appts
from . import reports_money as money
from .base import ServiceCore, UnitOfWork, operation
from .billing_period import local_time
from .clinic_letterhead import letterhead

KINDS = {
    "day-sheet": ("Day sheet", "Counted by appointment date"),
    "takings": ("Daily takings by payment method (cash-up)", "Counted by payment date"),
    "revenue": ("Revenue", "Counted by invoice date (credit notes by their own date)"),
    "aging": (
        "Outstanding invoices by age",
        "Owed at the end date: payments and credit notes after it do not count;"
        " aged from the invoice date",
    ),
    "no-show": ("No-show rate", "Counted by appointment date; cancelled appointments left out"),
    "not-invoiced": ("Completed appointments not yet invoiced", "Counted by appointment date"),
}
GROUPS = ("period", "practitioner", "service")


class ReportsService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    @operation(Permission.REPORTS, "reports.run", resource_type="Report")
    def run(
        self,
        uow: UnitOfWork,
        *,
        kind: str,
        date_from: date,
        date_to: date,
        group_by: str = "period",
    ) -> ReportTable:
        """One report as data (the screen shows it; ``render_pdf``/``render_csv`` print it)."""
        if kind not in KINDS:
            raise ValidationError({"kind": f"Unknown report {kind!r}."})
        if date_to < date_from:
            raise ValidationError({"date_to": "The end date is before the start date."})
        if group_by not in GROUPS:
            raise ValidationError({"group_by": "Group revenue by period, practitioner or service."})
        report = self._build(uow, kind, date_from, date_to, group_by)
        uow.audit(
            "reports.run",
            resource_type="Report",
            detail={
                "kind": kind,
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "rows": len(report.rows),
            },
        )
        return report

    def _build(self, uow: UnitOfWork, kind: str, d0: date, d1: date, group_by: str) -> ReportTable:
        s = uow.session
        clinic = q.clinic_row(s)
        tz = clinic.timezone
        title, basis = KINDS[kind]
        chart = None
        notes: tuple[str, ...] = ()
        if kind == "day-sheet":
            cols, rows, totals = appts.day_sheet(s, tz, d0, d1)
        elif kind == "takings":
            cols, rows, totals, chart = money.takings(s, tz, d0, d1)
        elif kind == "revenue":
            cols, rows, totals, chart = money.revenue(s, tz, d0, d1, group_by)
            title = f"Revenue by {group_by}"
            notes = ("Amounts exclude tax unless marked incl. tax. Void invoices are left out.",)
        elif kind == "aging":
            cols, rows, totals, chart = money.aging(s, tz, d1)
            notes = (
                "Outstanding is what was still owed at the end date, after payments and"
                " credit notes up to it.",
            )
        elif kind == "no-show":
            cols, rows, totals, chart = appts.no_show(s, tz, d0, d1)
        else:
            cols, rows, totals = appts.not_invoiced(s, tz, d0, d1)
        return ReportTable(
            kind=kind,
            title=title,
            basis=basis,
            date_from=d0,
            date_to=d1,
            columns=cols,
            rows=tuple(rows),
            totals=totals,
            currency=clinic.currency,
            locale=clinic.locale,
            clinic_name=clinic.name,
            chart=chart,
            notes=notes,
            generated_at=day_time_text(local_time(self.core.now(), tz)),
        )

    # Convenience names for the common reports.
    def day_sheet(self, actor: StaffSession, *, date_from: date, date_to: date) -> ReportTable:
        return self.run(actor, kind="day-sheet", date_from=date_from, date_to=date_to)

    def revenue(
        self, actor: StaffSession, *, date_from: date, date_to: date, group_by: str = "period"
    ) -> ReportTable:
        return self.run(
            actor,
            kind="revenue",
            date_from=date_from,
            date_to=date_to,
            group_by=group_by,
        )

    @operation(Permission.REPORTS, "reports.export", resource_type="Report")
    def export_pdf(self, uow: UnitOfWork, *, report: ReportTable) -> bytes:
        uow.audit(
            "reports.export", resource_type="Report", detail={"kind": report.kind, "format": "pdf"}
        )
        return render_report_pdf(report, letterhead(q.clinic_row(uow.session)))

    @operation(Permission.REPORTS, "reports.export", resource_type="Report")
    def export_csv(self, uow: UnitOfWork, *, report: ReportTable) -> str:
        uow.audit(
            "reports.export", resource_type="Report", detail={"kind": report.kind, "format": "csv"}
        )
        return render_report_csv(report)

    def export_file(
        self,
        actor: StaffSession,
        *,
        kind: str,
        date_from: date,
        date_to: date,
        out: Path,
        group_by: str = "period",
    ) -> ReportTable:
        """Run a report and write it to ``out`` (PDF or CSV by its suffix)."""
        suffix = out.suffix.lower()
        if suffix not in (".pdf", ".csv"):
            raise ValidationError({"out": "The output file must end in .pdf or .csv."})
        report = self.run(
            actor,
            kind=kind,
            date_from=date_from,
            date_to=date_to,
            group_by=group_by,
        )
        if suffix == ".pdf":
            out.write_bytes(self.export_pdf(actor, report=report))
        else:
            out.write_text(self.export_csv(actor, report=report), encoding="utf-8")
        return report
