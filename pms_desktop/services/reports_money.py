"""Money reports: daily takings by payment method, revenue by period / practitioner / service,
and outstanding invoices with ageing. Each sums exact minor units straight from the rows."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..documents.report_pdf import Cell, ChartSpec, ReportColumn
from ..domain.enums import InvoiceStatus
from ..store.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    Practitioner,
)
from . import billing_queries as q
from .billing_period import local_date, period_bounds

METHOD_NAMES = {
    "cash": "Cash",
    "card": "Card",
    "bank_transfer": "Bank transfer",
    "insurer": "Insurer",
}
Rows = list[tuple[Cell, ...]]


def col_sum(rows: Rows, i: int) -> int:
    """Sum of a column's integer cells (money in minor units, counts); blanks count as 0."""
    return sum(v for r in rows if isinstance(v := r[i], int))


def takings(
    s: Session, tz: str, d0: date, d1: date
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...], ChartSpec]:
    start, end = period_bounds(d0, d1, tz)
    acc: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    # Columns, not ORM entities: a year is some 10,000 payments.
    for received_at, method, kind, amount in s.execute(
        select(Payment.received_at, Payment.method, Payment.kind, Payment.amount_minor).where(
            Payment.received_at >= start, Payment.received_at < end, Payment.voided_at.is_(None)
        )
    ):
        a = acc[(local_date(received_at, tz), method)]
        if kind == "refund":
            a[2] += amount
        else:
            a[0] += 1
            a[1] += amount
    cols = (
        ReportColumn("Date", "date", 1.1),
        ReportColumn("Method", "text", 1.3),
        ReportColumn("Payments", "int", 0.8),
        ReportColumn("Received", "money"),
        ReportColumn("Refunded", "money"),
        ReportColumn("Net takings", "money"),
    )
    rows: Rows = [
        (d, METHOD_NAMES.get(m, m), n, r, f, r - f) for (d, m), (n, r, f) in sorted(acc.items())
    ]
    totals: tuple[Cell, ...] = (
        "Total",
        "",
        col_sum(rows, 2),
        *(col_sum(rows, i) for i in (3, 4, 5)),
    )
    by_method: dict[str, int] = defaultdict(int)
    for r in rows:
        by_method[str(r[1])] += col_sum([r], 5)
    chart = ChartSpec("Net takings by payment method", tuple(by_method), tuple(by_method.values()))
    return cols, rows, totals, chart


@functools.lru_cache(maxsize=4096)
def _period_label(d: date, monthly: bool) -> str:
    return f"{d:%b %Y}" if monthly else d.isoformat()


def revenue(
    s: Session, tz: str, d0: date, d1: date, group_by: str
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...], ChartSpec]:
    """Net revenue (excluding tax): invoiced by issue date less credited by credit-note date."""
    start, end = period_bounds(d0, d1, tz)
    monthly = (d1 - d0).days > 62
    pracs = {p.id: q.practitioner_name(p) or "" for p in s.scalars(select(Practitioner))}
    # group -> [invoices/items, invoiced net, credited net, tax net of credits]
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    keys: dict[str, date] = {}

    def group(
        practitioner_id: str | None, when: datetime | None, code: str | None, text: str
    ) -> str:
        if group_by == "practitioner":
            return pracs.get(practitioner_id or "", "") or "(no practitioner)"
        if group_by == "service":
            return f"{code} {text}".strip() if code else text
        assert when is not None  # selected by its date
        d = local_date(when, tz)
        keys.setdefault(_period_label(d, monthly), d.replace(day=1) if monthly else d)
        return _period_label(d, monthly)

    # Columns, not ORM entities: a year is some 11,000 invoices and 30,000 lines.
    issued = (
        Invoice.status == InvoiceStatus.ISSUED.value,
        Invoice.issued_at >= start,
        Invoice.issued_at < end,
    )
    credited = (CreditNote.issued_at >= start, CreditNote.issued_at < end)
    if group_by == "service":
        lines = s.execute(
            select(
                Invoice.issued_at,
                Invoice.practitioner_id,
                InvoiceLine.code,
                InvoiceLine.description,
                InvoiceLine.net_minor,
                InvoiceLine.tax_minor,
            )
            .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
            .where(*issued)
        )
        for when, prac, code, text, net, tax in lines:
            a = acc[group(prac, when, code, text)]
            a[0] += 1
            a[1] += net
            a[3] += tax
        credit_lines = s.execute(
            select(
                CreditNote.issued_at,
                Invoice.practitioner_id,
                InvoiceLine.code,  # of the invoice line credited, if any
                CreditNoteLine.description,
                CreditNoteLine.net_minor,
                CreditNoteLine.tax_minor,
            )
            .join(Invoice, Invoice.id == CreditNote.invoice_id)
            .join(CreditNoteLine, CreditNoteLine.credit_note_id == CreditNote.id)
            .outerjoin(InvoiceLine, InvoiceLine.id == CreditNoteLine.invoice_line_id)
            .where(*credited)
        )
        for when, prac, code, text, net, tax in credit_lines:
            a = acc[group(prac, when, code, text)]
            a[2] += net
            a[3] -= tax
    else:
        invoices = s.execute(
            select(
                Invoice.issued_at,
                Invoice.practitioner_id,
                Invoice.subtotal_minor - Invoice.discount_minor,
                Invoice.tax_minor,
            ).where(*issued)
        )
        for when, prac, net, tax in invoices:
            a = acc[group(prac, when, None, "")]
            a[0] += 1
            a[1] += net
            a[3] += tax
        credit_notes = s.execute(
            select(
                CreditNote.issued_at,
                Invoice.practitioner_id,
                CreditNote.net_minor,
                CreditNote.tax_minor,
            )
            .join(Invoice, Invoice.id == CreditNote.invoice_id)
            .where(*credited)
        )
        for when, prac, net, tax in credit_notes:
            a = acc[group(prac, when, None, "")]
            a[2] += net
            a[3] -= tax
    label = {
        "period": "Month" if monthly else "Day",
        "practitioner": "Practitioner",
        "service": "Service",
    }[group_by]
    count = "Lines" if group_by == "service" else "Invoices"
    # A day is a date (shown '2 Nov 2026' as the report's dates, ISO in the CSV), a month text.
    daily = group_by == "period" and not monthly
    cols = (
        ReportColumn(label, "date" if daily else "text", 2.2),
        ReportColumn(count, "int", 0.7),
        ReportColumn("Invoiced (net)", "money"),
        ReportColumn("Credited (net)", "money"),
        ReportColumn("Net revenue", "money"),
        ReportColumn("Tax", "money"),
        ReportColumn("Total incl. tax", "money"),
    )
    order = sorted(
        acc,
        key=lambda k: (
            (str(keys.get(k, k)), 0, k)
            if group_by == "period"
            else ("", -(acc[k][1] - acc[k][2]), k)
        ),
    )
    rows: Rows = [
        (
            keys[k] if daily else k,
            acc[k][0],
            acc[k][1],
            acc[k][2],
            acc[k][1] - acc[k][2],
            acc[k][3],
            acc[k][1] - acc[k][2] + acc[k][3],
        )
        for k in order
    ]
    totals: tuple[Cell, ...] = ("Total", *(col_sum(rows, i) for i in range(1, 7)))
    chart = ChartSpec(
        f"Net revenue by {label.lower()}",
        tuple(f"{r[0].day} {r[0]:%b}" if isinstance(r[0], date) else str(r[0])[:28]
              for r in rows),
        tuple(col_sum([r], 4) for r in rows),
    )
    return cols, rows, totals, chart


BUCKETS = ("0-30 days", "31-60 days", "61-90 days", "90+ days")


def bucket(days: int) -> int:
    return 0 if days <= 30 else 1 if days <= 60 else 2 if days <= 90 else 3


def aging(
    s: Session, tz: str, as_at: date
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...], ChartSpec]:
    """Every invoice that still owed money at the end of ``as_at``, aged from its issue date:
    payments received and credit notes issued after that day do not count, and an invoice voided
    after it still did. Run for a past month's end, it gives that month's debtors."""
    end = period_bounds(as_at, as_at, tz)[1]
    # One query of the invoices that still owed, with their patients' names: a year's demo has
    # some 11,000 invoices and 2,000 of them owing (no ORM entity for any of them).
    owed = q.owed_at(end).label("owed")
    still_issued = or_(
        Invoice.status == InvoiceStatus.ISSUED.value,
        and_(Invoice.status == InvoiceStatus.VOID.value, Invoice.voided_at >= end),
    )
    owing = (
        select(Invoice.number, Invoice.patient_id, Invoice.issued_at, Invoice.total_minor, owed)
        .where(Invoice.issued_at < end, still_issued)
        .subquery()
    )
    found = s.execute(
        select(owing, Patient.family, Patient.given)
        .outerjoin(Patient, Patient.id == owing.c.patient_id)
        .where(owing.c.owed > 0)
        .order_by(owing.c.issued_at)
    )
    rows: Rows = []
    for number, _pid, issued_at, total, outstanding, family, given in found:
        issued = local_date(issued_at, tz)
        days = (as_at - issued).days
        ages: list[Cell] = [None] * 4
        ages[bucket(days)] = outstanding
        name = f"{family.upper()}, {given}" if family is not None else ""
        rows.append((number, name, issued, days, total, outstanding, *ages))
    cols = (
        ReportColumn("Invoice", "text", 1.5),
        ReportColumn("Patient", "text", 1.8),
        ReportColumn("Issued", "date", 1.1),
        ReportColumn("Days", "int", 0.6),
        ReportColumn("Total", "money"),
        ReportColumn("Outstanding", "money"),
        *(ReportColumn(b, "money") for b in BUCKETS),
    )
    sums = [col_sum(rows, i) for i in range(4, 10)]
    totals: tuple[Cell, ...] = ("Total", f"{len(rows)} invoices", None, None, *sums)
    chart = ChartSpec("Outstanding by age", BUCKETS, tuple(sums[2:]))
    return cols, rows, totals, chart
