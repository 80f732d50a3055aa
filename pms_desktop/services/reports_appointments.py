"""Appointment reports: the day sheet per practitioner, the no-show rate, and the completed
appointments not yet invoiced. All count by appointment date (its start, clinic time)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..documents.report_pdf import Cell, ChartSpec, ReportColumn
from ..domain.enums import AppointmentStatus, InvoiceStatus
from ..store.models import Appointment, AppointmentType, Invoice, Patient, Practitioner
from . import billing_queries as q
from .billing_period import local_time, period_bounds
from .billing_uninvoiced import uninvoiced_appointments

Rows = list[tuple[Cell, ...]]
STATUS_NAMES = {
    "booked": "Booked",
    "arrived": "Arrived",
    "in-consultation": "In consultation",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "noshow": "Did not attend",
}


def day_sheet(
    s: Session, tz: str, d0: date, d1: date
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...]]:
    start, end = period_bounds(d0, d1, tz)
    invoiced = {
        a: n
        for a, n in s.execute(
            select(Invoice.appointment_id, Invoice.number).where(
                Invoice.appointment_id.is_not(None), Invoice.status != InvoiceStatus.VOID.value
            )
        )
    }
    result = s.execute(
        select(Appointment, Patient, Practitioner, AppointmentType)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .outerjoin(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .where(Appointment.start_at >= start, Appointment.start_at < end)
    )
    items = sorted(result, key=lambda r: (q.practitioner_name(r[2]) or "", r[0].start_at))
    rows: Rows = []
    for a, p, pr, t in items:
        at = local_time(a.start_at, tz)
        rows.append(
            (
                q.practitioner_name(pr),
                at.date(),
                at.strftime("%H:%M"),
                q.patient_name(p),
                t.name if t else "",
                STATUS_NAMES.get(a.status, a.status),
                invoiced.get(a.id) or ("draft" if a.id in invoiced else ""),
            )
        )
    cols = (
        ReportColumn("Practitioner", "text", 1.6),
        ReportColumn("Date", "date", 1.0),
        ReportColumn("Time", "text", 0.6),
        ReportColumn("Patient", "text", 1.8),
        ReportColumn("Type", "text", 1.5),
        ReportColumn("Status", "text", 1.1),
        ReportColumn("Invoice", "text", 1.4),
    )
    totals: tuple[Cell, ...] = ("Total", None, None, f"{len(rows)} appointments", None, None, None)
    return cols, rows, totals


def no_show(
    s: Session, tz: str, d0: date, d1: date
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...], ChartSpec]:
    """Share of appointments (cancelled ones left out) the patient did not attend."""
    start, end = period_bounds(d0, d1, tz)
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a, pr in s.execute(
        select(Appointment, Practitioner)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .where(
            Appointment.start_at >= start,
            Appointment.start_at < end,
            Appointment.status != AppointmentStatus.CANCELLED.value,
        )
    ):
        c = acc[q.practitioner_name(pr) or ""]
        c[0] += 1
        c[1] += a.status == AppointmentStatus.NO_SHOW.value

    def rate(n: int, k: int) -> Decimal:
        return (Decimal(k) / Decimal(n)).quantize(Decimal("0.0001")) if n else Decimal(0)

    rows: Rows = [(name, n, k, rate(n, k)) for name, (n, k) in sorted(acc.items())]
    n_all, k_all = sum(v[0] for v in acc.values()), sum(v[1] for v in acc.values())
    cols = (
        ReportColumn("Practitioner", "text", 2.0),
        ReportColumn("Appointments", "int"),
        ReportColumn("Did not attend", "int"),
        ReportColumn("No-show rate", "percent"),
    )
    chart = ChartSpec(
        "No-show rate (%)",
        tuple(str(r[0]) for r in rows),
        tuple(rate(n, k) * 100 for _name, (n, k) in sorted(acc.items())),
        money=False,
        y_label="%",
    )
    return cols, rows, ("Total", n_all, k_all, rate(n_all, k_all)), chart


def not_invoiced(
    s: Session, tz: str, d0: date, d1: date
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...]]:
    start, end = period_bounds(d0, d1, tz)
    rows: Rows = []
    for u in uninvoiced_appointments(s, start, end):
        at = local_time(u.start_at, tz)
        rows.append(
            (
                at.date(),
                at.strftime("%H:%M"),
                u.practitioner_name,
                u.patient_name,
                u.type_name or "",
                u.fee_code or "",
            )
        )
    cols = (
        ReportColumn("Date", "date", 1.0),
        ReportColumn("Time", "text", 0.6),
        ReportColumn("Practitioner", "text", 1.6),
        ReportColumn("Patient", "text", 1.8),
        ReportColumn("Type", "text", 1.5),
        ReportColumn("Fee code", "text", 0.9),
    )
    return cols, rows, ("Total", None, None, f"{len(rows)} appointments", None, None)
