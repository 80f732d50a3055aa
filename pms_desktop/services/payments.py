"""Payments: money in (cash, card, bank transfer, insurer), allocation to invoices, credit, refunds.

A payment may be partial; what is not allocated to an invoice is the patient's credit, which can
be applied to a later invoice or refunded. Every payment and refund gets a receipt number from
this workstation's series. The patient's balance is invoiced - credited - paid + refunded
(> 0: the patient owes; < 0: the patient is in credit).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain.enums import InvoiceStatus, PaymentKind, PaymentMethod
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.permissions import Permission
from ..store.models import Invoice, Payment, PaymentAllocation
from . import billing_documents as docs
from . import billing_queries as q
from .base import ServiceCore, UnitOfWork, operation
from .billing_dto import PatientAccount, PaymentInfo
from .billing_numbers import next_number
from .billing_period import period_bounds
from .payments_account import build_account, payment_info, unallocated_credit


class PaymentsService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    @operation(
        Permission.TAKE_PAYMENTS,
        "payments.take",
        patient_arg="patient_id",
        resource_type="PaymentReconciliation",
    )
    def take_payment(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        method: str,
        amount_minor: int,
        invoice_id: str | None = None,
        reference: str | None = None,
        auto_allocate: bool = False,
    ) -> PaymentInfo:
        """Record money received; allocate it to ``invoice_id`` (or the oldest invoices with
        ``auto_allocate``) up to what they still ask; the rest is the patient's credit."""
        errors: dict[str, str] = {}
        if method not in {m.value for m in PaymentMethod}:
            errors["method"] = "Choose how the patient paid."
        if amount_minor <= 0:
            errors["amount"] = "Enter an amount greater than zero."
        if errors:
            raise ValidationError(errors)
        s = uow.session
        patient = q.patient_row(s, patient_id)
        clinic = q.clinic_row(s)
        targets = self._targets(uow, patient.id, invoice_id, auto_allocate)
        pay = Payment(
            clinic_id=clinic.id,
            patient_id=patient.id,
            kind=PaymentKind.PAYMENT.value,
            method=method,
            amount_minor=amount_minor,
            currency=clinic.currency,
            received_at=self.core.now(),
            received_by=uow.actor.user_id if uow.actor else None,
            reference=(reference or "").strip() or None,
            receipt_number=next_number(s, "receipt", self.core.workstation_id),
        )
        s.add(pay)
        self._allocate(uow, pay, amount_minor, targets)
        uow.changed(pay)
        uow.audit(
            "payments.take",
            resource_type="PaymentReconciliation",
            resource_id=pay.id,
            patient_id=patient.id,
            detail={"amount": amount_minor, "method": method, "receipt": pay.receipt_number},
        )
        return payment_info(s, pay)

    def _targets(
        self, uow: UnitOfWork, patient_id: str, invoice_id: str | None, auto: bool
    ) -> list[tuple[Invoice, int]]:
        s = uow.session
        if invoice_id:
            inv = q.invoice_row(s, invoice_id)
            if inv.patient_id != patient_id:
                raise ValidationError({"invoice": "That invoice belongs to another patient."})
            if inv.status != InvoiceStatus.ISSUED.value:
                raise ConflictError("Only an issued invoice can be paid; issue it first.")
            invoices = [inv]
        elif auto:
            invoices = list(
                s.scalars(
                    select(Invoice)
                    .where(
                        Invoice.patient_id == patient_id,
                        Invoice.status == InvoiceStatus.ISSUED.value,
                    )
                    .order_by(Invoice.issued_at)
                )
            )
        else:
            return []
        owing = {x.id: x.outstanding_minor for x in q.summaries(s, invoices)}
        return [(i, owing[i.id]) for i in invoices if owing[i.id] > 0]

    def _allocate(
        self, uow: UnitOfWork, pay: Payment, available: int, targets: list[tuple[Invoice, int]]
    ) -> int:
        used = 0
        for inv, owing in targets:
            take = min(owing, available - used)
            if take <= 0:
                break
            pay.allocations.append(PaymentAllocation(invoice_id=inv.id, amount_minor=take))
            used += take
        uow.session.flush()
        return used

    @operation(
        Permission.TAKE_PAYMENTS,
        "payments.apply_credit",
        patient_arg="patient_id",
        resource_type="PaymentReconciliation",
    )
    def apply_credit(
        self, uow: UnitOfWork, *, patient_id: str, invoice_id: str, amount_minor: int | None = None
    ) -> int:
        """Apply the patient's unallocated credit to an invoice; returns the amount applied."""
        s = uow.session
        targets = self._targets(uow, patient_id, invoice_id, False)
        if not targets:
            raise ConflictError("Nothing is outstanding on this invoice.")
        want = targets[0][1] if amount_minor is None else min(amount_minor, targets[0][1])
        applied = 0
        payments = s.scalars(
            select(Payment)
            .where(
                Payment.patient_id == patient_id,
                Payment.kind == PaymentKind.PAYMENT.value,
                Payment.voided_at.is_(None),
            )
            .order_by(Payment.received_at)
        )
        credit = unallocated_credit(s, patient_id)
        for pay in payments:
            free = pay.amount_minor - sum(a.amount_minor for a in pay.allocations)
            take = min(free, want - applied, credit - applied)
            if take > 0:
                applied += self._allocate(uow, pay, take, [(targets[0][0], take)])
                uow.changed(pay)
        if applied == 0:
            raise ConflictError("The patient has no credit to apply.")
        uow.audit(
            "payments.apply_credit",
            resource_type="Invoice",
            resource_id=invoice_id,
            patient_id=patient_id,
            detail={"amount": applied},
        )
        return applied

    @operation(
        Permission.TAKE_PAYMENTS,
        "payments.refund",
        patient_arg="patient_id",
        resource_type="PaymentReconciliation",
    )
    def refund(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        amount_minor: int,
        method: str,
        reason: str,
        reference: str | None = None,
    ) -> PaymentInfo:
        """Pay back part or all of the patient's credit."""
        s = uow.session
        patient = q.patient_row(s, patient_id)
        credit = unallocated_credit(s, patient.id)
        errors: dict[str, str] = {}
        if method not in {m.value for m in PaymentMethod}:
            errors["method"] = "Choose how the money is paid back."
        if amount_minor <= 0:
            errors["amount"] = "Enter an amount greater than zero."
        elif amount_minor > credit:
            errors["amount"] = "The refund is larger than the patient's credit."
        if not reason.strip():
            errors["reason"] = "Say why the money is refunded."
        if errors:
            raise ValidationError(errors)
        clinic = q.clinic_row(s)
        pay = Payment(
            clinic_id=clinic.id,
            patient_id=patient.id,
            kind=PaymentKind.REFUND.value,
            method=method,
            amount_minor=amount_minor,
            currency=clinic.currency,
            received_at=self.core.now(),
            received_by=uow.actor.user_id if uow.actor else None,
            reference=(reference or "").strip() or None,
            void_reason=None,
            receipt_number=next_number(s, "receipt", self.core.workstation_id),
        )
        s.add(pay)
        s.flush()
        uow.changed(pay)
        uow.audit(
            "payments.refund",
            resource_type="PaymentReconciliation",
            resource_id=pay.id,
            patient_id=patient.id,
            reason=reason.strip(),
            detail={"amount": amount_minor},
        )
        return payment_info(s, pay)

    @operation(
        Permission.BILLING,
        "payments.void",
        resource_type="PaymentReconciliation",
    )
    def void_payment(self, uow: UnitOfWork, *, payment_id: str, reason: str) -> PaymentInfo:
        """Cancel a payment or refund recorded in error (wrong amount, method or patient).

        The row stays, marked void with the reason; it no longer counts in the balance, the
        invoices it paid or the takings. Refused where the money was already paid back: voiding
        it would leave the patient owing a refund they never received.
        """
        s = uow.session
        pay = s.get(Payment, payment_id)
        if pay is None:
            raise NotFound("That payment does not exist.")
        if not reason.strip():
            raise ValidationError({"reason": "Say why the payment is voided."})
        if pay.voided_at is not None:
            raise ConflictError("This payment is already void.")
        if pay.kind == PaymentKind.PAYMENT.value:
            free = pay.amount_minor - sum(a.amount_minor for a in pay.allocations)
            if unallocated_credit(s, pay.patient_id) < free:
                raise ConflictError(
                    "Part of this payment was refunded to the patient: void the refund first."
                )
        pay.voided_at, pay.void_reason = self.core.now(), reason.strip()[:200]
        uow.changed(pay)
        uow.audit(
            "payments.void",
            resource_type="PaymentReconciliation",
            resource_id=pay.id,
            patient_id=pay.patient_id,
            reason=reason.strip(),
            detail={"amount": pay.amount_minor, "kind": pay.kind},
        )
        return payment_info(s, pay)

    @operation(
        Permission.TAKE_PAYMENTS,
        "payments.account.read",
        patient_arg="patient_id",
        resource_type="Patient",
    )
    def patient_account(self, uow: UnitOfWork, *, patient_id: str) -> PatientAccount:
        return build_account(uow.session, q.patient_row(uow.session, patient_id))

    @operation(Permission.TAKE_PAYMENTS, "payments.read", resource_type="PaymentReconciliation")
    def get_payment(self, uow: UnitOfWork, *, payment_id: str) -> PaymentInfo:
        pay = uow.session.get(Payment, payment_id)
        if pay is None:
            raise NotFound("That payment does not exist.")
        uow.audit(
            "payments.read",
            resource_type="PaymentReconciliation",
            resource_id=pay.id,
            patient_id=pay.patient_id,
        )
        return payment_info(uow.session, pay)

    @operation(Permission.TAKE_PAYMENTS, "payments.list", resource_type="PaymentReconciliation")
    def list_payments(
        self, uow: UnitOfWork, *, date_from: date, date_to: date
    ) -> list[PaymentInfo]:
        start, end = period_bounds(date_from, date_to, q.clinic_row(uow.session).timezone)
        rows = uow.session.scalars(
            select(Payment)
            .where(Payment.received_at >= start, Payment.received_at < end)
            .order_by(Payment.received_at)
        )
        out = [payment_info(uow.session, p) for p in rows]
        uow.audit(
            "payments.list", resource_type="PaymentReconciliation", detail={"count": len(out)}
        )
        return out

    @operation(
        Permission.TAKE_PAYMENTS, "payments.receipt.print", resource_type="PaymentReconciliation"
    )
    def receipt_pdf(self, uow: UnitOfWork, *, payment_id: str) -> bytes:
        pay = uow.session.get(Payment, payment_id)
        if pay is None:
            raise NotFound("That payment does not exist.")
        uow.audit(
            "payments.receipt.print",
            resource_type="PaymentReconciliation",
            resource_id=pay.id,
            patient_id=pay.patient_id,
        )
        return docs.receipt_pdf(uow.session, pay)

    @operation(
        Permission.TAKE_PAYMENTS,
        "payments.statement.print",
        patient_arg="patient_id",
        resource_type="Patient",
    )
    def statement_pdf(self, uow: UnitOfWork, *, patient_id: str) -> bytes:
        return docs.statement_pdf(
            uow.session, q.patient_row(uow.session, patient_id), self.core.now()
        )
