"""Credit notes: the only way to correct an issued invoice.

A credit note credits whole invoice lines (or everything not yet credited). When the invoice is
fully credited, the note takes exactly what remains of the invoice's net and tax, so the patient's
balance returns to what it was before the invoice, whatever the tax rounding mode. If payments
allocated to the invoice now exceed what it still asks, the excess allocation is released and
becomes the patient's credit (to apply elsewhere or refund).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..domain.enums import InvoiceStatus
from ..domain.errors import ConflictError, ValidationError
from ..store.models import CreditNote, CreditNoteLine, Invoice, Payment, PaymentAllocation
from .base import UnitOfWork
from .billing_numbers import next_number


def apply_credit_note(
    uow: UnitOfWork, inv: Invoice, reason: str, line_ids: list[str] | None, now: datetime
) -> CreditNote:
    s = uow.session
    if not reason.strip():
        raise ValidationError({"reason": "Say why the invoice is credited."})
    if inv.status != InvoiceStatus.ISSUED.value:
        raise ConflictError("Only an issued invoice can be credited.")
    previous = list(s.scalars(select(CreditNote).where(CreditNote.invoice_id == inv.id)))
    done = {x.invoice_line_id for cn in previous for x in cn.lines}
    remaining = [x for x in inv.lines if x.id not in done]
    if line_ids is None:
        chosen = remaining
    else:
        by_id = {x.id: x for x in remaining}
        unknown = [i for i in line_ids if i not in by_id]
        if unknown:
            raise ConflictError("A chosen line is not on this invoice or is already credited.")
        chosen = [by_id[i] for i in line_ids]
    if not chosen:
        raise ConflictError("Everything on this invoice is already credited.")
    if len(chosen) == len(remaining):
        # Last credit: take exactly what is left, so the invoice nets to zero.
        net = (inv.subtotal_minor - inv.discount_minor) - sum(c.net_minor for c in previous)
        tax = inv.tax_minor - sum(c.tax_minor for c in previous)
    else:
        net = sum(x.net_minor for x in chosen)
        tax = sum(x.tax_minor for x in chosen)
    cn = CreditNote(
        invoice_id=inv.id,
        number=next_number(s, "credit_note", uow.core.workstation_id),
        reason=reason.strip(),
        issued_at=now,
        issued_by=uow.actor.user_id if uow.actor else None,
        net_minor=net,
        tax_minor=tax,
        total_minor=net + tax,
        lines=[
            CreditNoteLine(
                invoice_line_id=x.id,
                position=n,
                description=x.description,
                net_minor=x.net_minor,
                tax_minor=x.tax_minor,
                total_minor=x.total_minor,
            )
            for n, x in enumerate(chosen, start=1)
        ],
    )
    s.add(cn)
    s.flush()
    uow.changed(cn)
    credited = sum(c.total_minor for c in previous) + cn.total_minor
    _release_excess_allocations(uow, inv, inv.total_minor - credited)
    uow.audit(
        "billing.credit_note.issue",
        resource_type="Invoice",
        resource_id=cn.id,
        patient_id=inv.patient_id,
        reason=cn.reason,
        detail={"number": cn.number, "invoice": inv.number, "total": cn.total_minor},
    )
    return cn


def _release_excess_allocations(uow: UnitOfWork, inv: Invoice, still_due: int) -> None:
    s = uow.session
    rows = [
        (a, p)
        for a, p in s.execute(
            select(PaymentAllocation, Payment)
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.invoice_id == inv.id, Payment.voided_at.is_(None))
            .order_by(Payment.received_at.desc())
        )
    ]
    excess = sum(a.amount_minor for a, _ in rows) - max(still_due, 0)
    for alloc, payment in rows:
        if excess <= 0:
            break
        take = min(excess, alloc.amount_minor)
        alloc.amount_minor -= take
        excess -= take
        if alloc.amount_minor == 0:
            payment.allocations.remove(alloc)
        uow.changed(payment)
