"""Documents on a demo clinic: an invoice PDF, and each report over a year (service and PDF).

DESIGN.md sets no budget for these; the targets are ours and stated in the table: an invoice
prints at the desk while the patient waits (p95 < 250 ms); a year's report shows on screen
within a second and is a PDF within five (a year's day sheet is some 13,000 appointments,
over 400 pages). Both run off the GUI thread in the application.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.domain.enums import InvoiceStatus, Role
from pms_desktop.store.models import Invoice

from .harness import Figure, sample, timed
from .workstation import actor

# "KIND by GROUP": revenue grouped otherwise than by period (by service reads every line).
REPORTS = ("day-sheet", "takings", "revenue", "revenue by service", "aging", "no-show")
INVOICE_MS, REPORT_MS, REPORT_PDF_MS = 250, 1000, 5000


def measure(ctx: AppContext, repeat: int, report_repeat: int, days: int = 365) -> list[Figure]:
    """The invoice over ``repeat`` invoices; each report over the last ``days`` (``--quick``: a
    month), ``report_repeat`` times."""
    manager = actor(ctx, Role.PRACTICE_MANAGER)
    billing: Any = ctx.billing
    reports: Any = ctx.reports
    with ctx.db.sessions()() as s:
        ids = list(s.scalars(select(Invoice.id).where(
            Invoice.status == InvoiceStatus.ISSUED.value).limit(repeat + 2)))
    figures = []

    def figure(name: str, budget: float, fn: Any, n: int, warmup: int, note: str = "") -> None:
        cpu: list[float] = []
        figures.append(timed(name, budget, sample(fn, n, warmup, cpu=cpu), cpu=cpu, note=note))

    if ids:
        nxt = itertools.cycle(ids).__next__
        figure("invoice PDF", INVOICE_MS,
               lambda: billing.invoice_pdf(manager, invoice_id=nxt()), repeat, 2)
    d1 = date.today()
    d0 = d1 - timedelta(days=days - 1)
    span = "a year" if days >= 365 else f"{days} days"
    for name in REPORTS:
        kind, _, group = name.partition(" by ")

        def run(kind: str = kind, group: str = group or "period") -> Any:
            return reports.run(manager, kind=kind, date_from=d0, date_to=d1, group_by=group)

        report = run()
        figure(f"report {name}, {span}: on screen", REPORT_MS, run, report_repeat, 0,
               note=f"{len(report.rows)} rows")
        figure(f"report {name}, {span}: PDF", REPORT_PDF_MS,
               lambda r=report: reports.export_pdf(manager, report=r), report_repeat,
               1 if report_repeat > 1 else 0)
    return figures
