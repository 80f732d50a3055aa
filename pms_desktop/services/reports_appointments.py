"""Appointment reports: the day sheet per practitioner, the no-show rate, and the completed
appointments not yet invoiced. All count by appointment date (its start, clinic time)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
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


def _practitioner_names(s: Session) -> dict[str, str]:
    return {p.id: q.practitioner_name(p) or "" for p in s.scalars(select(Practitioner))}


def day_sheet(
    s: Session, tz: str, d0: date, d1: date
) -> tuple[tuple[ReportColumn, ...], Rows, tuple[Cell, ...]]:
    # Columns, not ORM entities: a year is some 13,000 appointments.
    start, end = period_bounds(d0, d1, tz)
    in_period = (Appointment.start_at >= start, Appointment.start_at < end)
    invoiced: dict[str, str | None] = {
        a: n
        for a, n in s.execute(
            select(Invoice.appointment_id, Invoice.number)
            .join(Appointment, Appointment.id == Invoice.appointment_id)
            .where(*in_period, Invoice.status != InvoiceStatus.VOID.value)
        )
        if a is not None
    }
    names = _practitioner_names(s)
    result = s.execute(
        select(
            Appointment.id,
            Appointment.practitioner_id,
            Appointment.start_at,
            Appointment.status,
            Patient.family,
            Patient.given,
            AppointmentType.name,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .where(*in_period)
    )
    items = sorted(result, key=lambda r: (names.get(r[1], ""), r[2]))
    rows: Rows = []
    for aid, prac_id, start_at, status, family, given, type_name in items:
        at = local_time(start_at, tz)
        rows.append(
            (
                names.get(prac_id, ""),
                at.date(),
                at.strftime("%H:%M"),
                f"{family.upper()}, {given}",
                type_name or "",
                STATUS_NAMES.get(status, status),
                invoiced.get(aid) or ("draft" if aid in invoiced else ""),
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
    names = _practitioner_names(s)
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for prac_id, n, k in s.execute(
        select(
            Appointment.practitioner_id,
            func.count(),
            func.count().filter(Appointment.status == AppointmentStatus.NO_SHOW.value),
        )
        .where(
            Appointment.start_at >= start,
            Appointment.start_at < end,
            Appointment.status != AppointmentStatus.CANCELLED.value,
        )
        .group_by(Appointment.practitioner_id)
    ):
        if prac_id in names:
            c = acc[names[prac_id]]
            c[0] += n
            c[1] += k

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
