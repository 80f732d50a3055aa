"""Read helpers shared by the billing, payments and reports services (inside a transaction).

They turn rows into the frozen DTOs of ``billing_dto`` and compute what is paid, credited and
outstanding on invoices. Nothing here checks permissions: the calling operation has.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from ..domain.enums import InvoiceStatus
from ..domain.errors import ConflictError, NotFound
from ..store.models import (
    Clinic,
    CreditNote,
    Invoice,
    InvoiceLine,
    Patient,
    Payment,
    PaymentAllocation,
    Practitioner,
)
from .billing_dto import CreditNoteInfo, InvoiceDetail, InvoiceLineInfo, InvoiceSummary


def clinic_row(session: Session) -> Clinic:
    clinic = session.scalars(select(Clinic)).first()
    if clinic is None:
        raise ConflictError("No clinic is set up in this database.")
    return clinic


def patient_row(session: Session, patient_id: str) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("That patient does not exist.")
    return patient


def patient_name(p: Patient | None) -> str:
    if p is None:
        return ""
    return f"{p.family.upper()}, {p.given}"


def practitioner_name(p: Practitioner | None) -> str | None:
    if p is None:
        return None
    return " ".join(x for x in (p.prefix, p.given, p.family) if x)


def payment_counted(as_at: datetime | None = None) -> ColumnElement[bool]:
    """A payment that counts: not voided; with ``as_at``, as it stood then (received before it
    and not voided before it)."""
    if as_at is None:
        return Payment.voided_at.is_(None)
    return and_(
        Payment.received_at < as_at,
        or_(Payment.voided_at.is_(None), Payment.voided_at >= as_at),
    )


def credit_counted(as_at: datetime | None = None) -> ColumnElement[bool]:
    """A credit note that counts: any; with ``as_at``, one issued before it."""
    return CreditNote.issued_at < as_at if as_at is not None else true()


def paid_by_invoice(
    session: Session, invoice_ids: Iterable[str], as_at: datetime | None = None
) -> dict[str, int]:
    """Money allocated to each invoice; with ``as_at``, as it stood then (payments received
    before it and not voided before it)."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount_minor))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.invoice_id.in_(ids), payment_counted(as_at))
        .group_by(PaymentAllocation.invoice_id)
    )
    return {i: int(v or 0) for i, v in rows}


def credited_by_invoice(
    session: Session, invoice_ids: Iterable[str], as_at: datetime | None = None
) -> dict[str, int]:
    """Credit notes against each invoice; with ``as_at``, those issued before it."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(CreditNote.invoice_id, func.sum(CreditNote.total_minor))
        .where(CreditNote.invoice_id.in_(ids), credit_counted(as_at))
        .group_by(CreditNote.invoice_id)
    )
    return {i: int(v or 0) for i, v in rows}


def owed_at(as_at: datetime) -> ColumnElement[int]:
    """What an invoice of the enclosing query still owed at ``as_at``, in SQL: its total less
    the payments allocated to it and the credit notes against it that count then (as
    ``paid_by_invoice`` and ``credited_by_invoice`` count them)."""
    paid = (
        select(func.coalesce(func.sum(PaymentAllocation.amount_minor), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.invoice_id == Invoice.id, payment_counted(as_at))
        .scalar_subquery()
    )
    credited = (
        select(func.coalesce(func.sum(CreditNote.total_minor), 0))
        .where(CreditNote.invoice_id == Invoice.id, credit_counted(as_at))
        .scalar_subquery()
    )
    return Invoice.total_minor - paid - credited


def summaries(session: Session, invoices: list[Invoice]) -> list[InvoiceSummary]:
    """Invoices with what was paid, credited and still owed now (as it stood at a date: the
    ageing report's query, ``owed_at``)."""
    ids = [i.id for i in invoices]
    paid = paid_by_invoice(session, ids)
    credited = credited_by_invoice(session, ids)
    # Names only (a patient's account can list many invoices: no ORM entities for them).
    names = {
        pid: f"{family.upper()}, {given}"
        for pid, family, given in session.execute(
            select(Patient.id, Patient.family, Patient.given).where(
                Patient.id.in_({i.patient_id for i in invoices})
            )
        )
    }
    pracs = {p.id: p for p in session.scalars(select(Practitioner))}
    out = []
    for inv in invoices:
        p, c = paid.get(inv.id, 0), credited.get(inv.id, 0)
        owing = inv.total_minor - p - c if inv.status == InvoiceStatus.ISSUED.value else 0
        out.append(
            InvoiceSummary(
                id=inv.id,
                number=inv.number,
                patient_id=inv.patient_id,
                patient_name=names.get(inv.patient_id, ""),
                practitioner_name=practitioner_name(pracs.get(inv.practitioner_id or "")),
                status=inv.status,
                currency=inv.currency,
                created_at=inv.created_at,
                issued_at=inv.issued_at,
                total_minor=inv.total_minor,
                paid_minor=p,
                credited_minor=c,
                outstanding_minor=owing,
                appointment_id=inv.appointment_id,
            )
        )
    return out


def line_info(line: InvoiceLine, credited_ids: set[str] | None = None) -> InvoiceLineInfo:
    return InvoiceLineInfo(
        id=line.id,
        position=line.position,
        code=line.code,
        description=line.description,
        quantity=line.quantity,
        unit_price_minor=line.unit_price_minor,
        discount_minor=line.discount_minor,
        tax_rate=line.tax_rate,
        net_minor=line.net_minor,
        tax_minor=line.tax_minor,
        total_minor=line.total_minor,
        credited=bool(credited_ids and line.id in credited_ids),
    )


def credit_note_info(cn: CreditNote, invoice_number: str | None) -> CreditNoteInfo:
    lines = tuple(
        InvoiceLineInfo(
            id=x.id,
            position=x.position,
            code=None,
            description=x.description,
            quantity=Decimal(1),
            unit_price_minor=x.net_minor,
            discount_minor=0,
            tax_rate=Decimal(0),
            net_minor=x.net_minor,
            tax_minor=x.tax_minor,
            total_minor=x.total_minor,
        )
        for x in cn.lines
    )
    return CreditNoteInfo(
        cn.id,
        cn.number,
        cn.invoice_id,
        invoice_number,
        cn.reason,
        cn.issued_at,
        cn.net_minor,
        cn.tax_minor,
        cn.total_minor,
        lines,
    )


def invoice_row(session: Session, invoice_id: str) -> Invoice:
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise NotFound("That invoice does not exist.")
    return inv


def detail(session: Session, inv: Invoice) -> InvoiceDetail:
    summary = summaries(session, [inv])[0]
    notes = list(
        session.scalars(
            select(CreditNote).where(CreditNote.invoice_id == inv.id).order_by(CreditNote.issued_at)
        )
    )
    credited_ids = {x.invoice_line_id for cn in notes for x in cn.lines if x.invoice_line_id}
    return InvoiceDetail(
        summary=summary,
        lines=tuple(line_info(x, credited_ids) for x in inv.lines),
        subtotal_minor=inv.subtotal_minor,
        discount_minor=inv.discount_minor,
        net_minor=inv.subtotal_minor - inv.discount_minor,
        tax_minor=inv.tax_minor,
        due_date=inv.due_date,
        note=inv.note,
        void_reason=inv.void_reason,
        tax_rounding=clinic_row(session).tax_rounding,
        credit_notes=tuple(credit_note_info(cn, inv.number) for cn in notes),
        practitioner_id=inv.practitioner_id,
        encounter_id=inv.encounter_id,
    )
