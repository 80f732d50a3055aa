"""A patient's account: balance, unallocated credit and the statement's running entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.enums import InvoiceStatus, PaymentKind
from ..store.models import CreditNote, Invoice, Patient, Payment, PaymentAllocation
from . import billing_queries as q
from .billing_dto import AllocationInfo, PatientAccount, PaymentInfo, StatementEntry


def payment_info(session: Session, pay: Payment) -> PaymentInfo:
    numbers: dict[str, str | None] = {}
    if pay.allocations:
        ids = [a.invoice_id for a in pay.allocations]
        numbers = {
            i: n
            for i, n in session.execute(
                select(Invoice.id, Invoice.number).where(Invoice.id.in_(ids))
            )
        }
    allocs = tuple(
        AllocationInfo(a.invoice_id, numbers.get(a.invoice_id), a.amount_minor)
        for a in pay.allocations
    )
    free = pay.amount_minor - sum(a.amount_minor for a in allocs) if pay.kind == "payment" else 0
    return PaymentInfo(
        id=pay.id,
        patient_id=pay.patient_id,
        patient_name=q.patient_name(session.get(Patient, pay.patient_id)),
        kind=pay.kind,
        method=pay.method,
        amount_minor=pay.amount_minor,
        currency=pay.currency,
        received_at=pay.received_at,
        reference=pay.reference,
        receipt_number=pay.receipt_number,
        allocations=allocs,
        unallocated_minor=free,
        received_by=pay.received_by,
        voided_at=pay.voided_at,
        void_reason=pay.void_reason,
    )


def unallocated_credit(session: Session, patient_id: str) -> int:
    """Payments not allocated to any invoice, less refunds already paid back."""
    live = (Payment.patient_id == patient_id, Payment.voided_at.is_(None))
    paid = (
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                *live, Payment.kind == PaymentKind.PAYMENT.value
            )
        )
        or 0
    )
    refunded = (
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                *live, Payment.kind == PaymentKind.REFUND.value
            )
        )
        or 0
    )
    allocated = (
        session.scalar(
            select(func.coalesce(func.sum(PaymentAllocation.amount_minor), 0))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(*live)
        )
        or 0
    )
    return int(paid) - int(allocated) - int(refunded)


def build_account(session: Session, patient: Patient) -> PatientAccount:
    clinic = q.clinic_row(session)
    invoices = list(
        session.scalars(
            select(Invoice)
            .where(Invoice.patient_id == patient.id)
            .order_by(Invoice.created_at.desc())
        )
    )
    summaries = q.summaries(session, invoices)
    issued = [i for i in invoices if i.status == InvoiceStatus.ISSUED.value]
    notes = list(
        session.scalars(select(CreditNote).where(CreditNote.invoice_id.in_([i.id for i in issued])))
    )
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.patient_id == patient.id, Payment.voided_at.is_(None))
            .order_by(Payment.received_at)
        )
    )
    entries: list[tuple[datetime, str, str, str, int, int]] = []
    numbers = {i.id: i.number for i in issued}
    for inv in issued:
        assert inv.issued_at is not None
        entries.append((inv.issued_at, "invoice", inv.number or "", "Invoice", inv.total_minor, 0))
    for cn in notes:
        entries.append(
            (
                cn.issued_at,
                "credit_note",
                cn.number,
                f"Credit note for {numbers.get(cn.invoice_id)}: {cn.reason}",
                0,
                cn.total_minor,
            )
        )
    for p in payments:
        if p.kind == PaymentKind.REFUND.value:
            entries.append(
                (
                    p.received_at,
                    "refund",
                    p.receipt_number or "",
                    f"Refund ({p.method.replace('_', ' ')})",
                    p.amount_minor,
                    0,
                )
            )
        else:
            entries.append(
                (
                    p.received_at,
                    "payment",
                    p.receipt_number or "",
                    f"Payment ({p.method.replace('_', ' ')})",
                    0,
                    p.amount_minor,
                )
            )
    entries.sort(key=lambda e: e[0])
    running = 0
    statement = []
    for at, kind, ref, text, debit, credit in entries:
        running += debit - credit
        statement.append(StatementEntry(at, kind, ref, text, debit, credit, running))
    invoiced = sum(i.total_minor for i in issued)
    credited = sum(c.total_minor for c in notes)
    paid = sum(p.amount_minor for p in payments if p.kind == PaymentKind.PAYMENT.value)
    refunded = sum(p.amount_minor for p in payments if p.kind == PaymentKind.REFUND.value)
    return PatientAccount(
        patient_id=patient.id,
        patient_name=q.patient_name(patient),
        currency=clinic.currency,
        invoiced_minor=invoiced,
        credited_minor=credited,
        paid_minor=paid,
        refunded_minor=refunded,
        balance_minor=invoiced - credited - paid + refunded,
        unallocated_credit_minor=unallocated_credit(session, patient.id),
        invoices=tuple(summaries),
        payments=_after_refunds([payment_info(session, p) for p in reversed(payments)], refunded),
        entries=tuple(statement),
    )


def _after_refunds(newest_first: list[PaymentInfo], refunded: int) -> tuple[PaymentInfo, ...]:
    """Each payment's unallocated part once refunds are paid out of the credit.

    A refund pays back the pooled credit, not one payment; it is counted against the newest
    payments' unallocated parts first (applying credit takes the oldest first), so the column
    adds up to the account's unallocated credit."""
    out = []
    for info in newest_first:
        drawn = min(refunded, info.unallocated_minor)
        refunded -= drawn
        out.append(replace(info, unallocated_minor=info.unallocated_minor - drawn)
                   if drawn else info)
    return tuple(out)
