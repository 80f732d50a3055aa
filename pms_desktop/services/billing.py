"""Billing: the fee schedule, invoices (draft -> issued | void) and credit notes.

An issued invoice never changes (its number, lines and totals are final); a mistake is corrected
by a credit note, which restores the patient's balance. A void needs a reason and is refused
once money is allocated to the invoice. Numbers come from this workstation's own series
(``billing_numbers``), so they stay unique offline. Documents are in ``billing_documents``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from ..domain.enums import AppointmentStatus, InvoiceStatus
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.money import invoice_totals, line_amounts
from ..domain.permissions import Permission
from ..store.models import Appointment, AppointmentType, CreditNote, Encounter, FeeItem, Invoice
from . import billing_documents as docs
from . import billing_queries as q
from .base import ServiceCore, UnitOfWork, operation
from .billing_credit import apply_credit_note
from .billing_dto import (
    CreditNoteInfo,
    FeeItemInfo,
    InvoiceDetail,
    InvoiceSummary,
    LineInput,
    UninvoicedAppointment,
)
from .billing_fees import build_lines, check_fee_item, fee_info, line_rows
from .billing_fees import load_default_fee_schedule as load_default_fee_schedule
from .billing_numbers import next_number
from .billing_period import day_bounds
from .billing_uninvoiced import uninvoiced_appointments

DEFAULT_DUE_DAYS = 30

__all__ = ["BillingService", "load_default_fee_schedule"]


class BillingService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    # --- fee schedule -------------------------------------------------------------------
    @operation(Permission.BILLING, "billing.fees.list", resource_type="ChargeItemDefinition")
    def list_fee_items(
        self, uow: UnitOfWork, *, include_inactive: bool = False
    ) -> list[FeeItemInfo]:
        stmt = select(FeeItem).order_by(FeeItem.code)
        if not include_inactive:
            stmt = stmt.where(FeeItem.active.is_(True))
        return [fee_info(f) for f in uow.session.scalars(stmt)]

    @operation(Permission.BILLING, "billing.fees.save", resource_type="ChargeItemDefinition")
    def save_fee_item(
        self,
        uow: UnitOfWork,
        *,
        code: str,
        description: str,
        price_minor: int,
        tax_rate: Decimal,
        active: bool = True,
        fee_item_id: str | None = None,
    ) -> FeeItemInfo:
        check_fee_item(code, description, price_minor, Decimal(tax_rate))
        s = uow.session
        clash = s.scalars(select(FeeItem).where(FeeItem.code == code.strip())).first()
        if clash is not None and clash.id != fee_item_id:
            raise ValidationError({"code": "Another fee item already has this code."})
        if fee_item_id:
            item = s.get(FeeItem, fee_item_id)
            if item is None:
                raise NotFound("That fee item does not exist.")
        else:
            item = FeeItem(clinic_id=q.clinic_row(s).id)
            s.add(item)
        item.code, item.description = code.strip(), description.strip()
        item.price_minor, item.tax_rate, item.active = price_minor, Decimal(tax_rate), active
        uow.changed(item)
        return fee_info(item)

    @operation(
        Permission.BILLING, "billing.fees.install_default", resource_type="ChargeItemDefinition"
    )
    def install_default_fee_schedule(self, uow: UnitOfWork) -> int:
        return load_default_fee_schedule(
            uow.session, user_id=uow.actor.user_id if uow.actor else None
        )

    # --- invoices -----------------------------------------------------------------------
    @operation(
        Permission.BILLING,
        "billing.invoice.create",
        patient_arg="patient_id",
        resource_type="Invoice",
    )
    def create_invoice(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        lines: list[LineInput],
        appointment_id: str | None = None,
        encounter_id: str | None = None,
        practitioner_id: str | None = None,
        note: str | None = None,
    ) -> InvoiceDetail:
        return self._new_draft(
            uow, patient_id, lines, appointment_id, encounter_id, practitioner_id, note
        )

    @operation(
        Permission.BILLING, "billing.invoice.create_from_appointment", resource_type="Invoice"
    )
    def create_invoice_from_appointment(
        self, uow: UnitOfWork, *, appointment_id: str
    ) -> InvoiceDetail:
        appt = uow.session.get(Appointment, appointment_id)
        if appt is None:
            raise NotFound("That appointment does not exist.")
        enc = uow.session.scalars(
            select(Encounter.id).where(Encounter.appointment_id == appt.id)
        ).first()
        return self._from_appointment(uow, appt, enc)

    @operation(Permission.BILLING, "billing.invoice.create_from_encounter", resource_type="Invoice")
    def create_invoice_from_encounter(self, uow: UnitOfWork, *, encounter_id: str) -> InvoiceDetail:
        enc = uow.session.get(Encounter, encounter_id)
        if enc is None:
            raise NotFound("That encounter does not exist.")
        appt = uow.session.get(Appointment, enc.appointment_id) if enc.appointment_id else None
        if appt is not None:
            return self._from_appointment(uow, appt, enc.id)
        return self._new_draft(uow, enc.patient_id, [], None, enc.id, enc.practitioner_id, None)

    def _from_appointment(
        self, uow: UnitOfWork, appt: Appointment, encounter_id: str | None
    ) -> InvoiceDetail:
        s = uow.session
        if appt.status in (AppointmentStatus.CANCELLED.value,):
            raise ConflictError("A cancelled appointment cannot be invoiced.")
        existing = s.scalars(
            select(Invoice).where(
                Invoice.appointment_id == appt.id, Invoice.status != InvoiceStatus.VOID.value
            )
        ).first()
        if existing is not None:
            raise ConflictError(
                f"This appointment is already invoiced ({existing.number or 'draft'})."
            )
        atype = (
            s.get(AppointmentType, appt.appointment_type_id) if appt.appointment_type_id else None
        )
        fee_code = atype.default_fee_code if atype else None
        has_fee = fee_code and s.scalars(select(FeeItem.id).where(FeeItem.code == fee_code)).first()
        lines = [LineInput(fee_code=fee_code)] if has_fee else []
        return self._new_draft(
            uow, appt.patient_id, lines, appt.id, encounter_id, appt.practitioner_id, None
        )

    def _new_draft(
        self,
        uow: UnitOfWork,
        patient_id: str,
        lines: list[LineInput],
        appointment_id: str | None,
        encounter_id: str | None,
        practitioner_id: str | None,
        note: str | None,
    ) -> InvoiceDetail:
        s = uow.session
        patient = q.patient_row(s, patient_id)
        clinic = q.clinic_row(s)
        inv = Invoice(
            clinic_id=clinic.id,
            patient_id=patient.id,
            practitioner_id=practitioner_id,
            appointment_id=appointment_id,
            encounter_id=encounter_id,
            status=InvoiceStatus.DRAFT.value,
            currency=clinic.currency,
            created_at=self.core.now(),
            note=note,
        )
        s.add(inv)
        self._set_lines(uow, inv, lines)
        uow.changed(inv)
        uow.audit(
            "billing.invoice.create",
            resource_type="Invoice",
            resource_id=inv.id,
            patient_id=inv.patient_id,
            detail={"appointment_id": appointment_id},
        )
        return q.detail(s, inv)

    def _set_lines(self, uow: UnitOfWork, inv: Invoice, lines: list[LineInput]) -> None:
        priced = build_lines(uow.session, lines)
        inv.lines = line_rows(priced)
        rounding = q.clinic_row(uow.session).tax_rounding
        totals = invoice_totals((a for _, a, _ in priced), rounding)
        inv.subtotal_minor, inv.discount_minor = totals.subtotal_minor, totals.discount_minor
        inv.tax_minor, inv.total_minor = totals.tax_minor, totals.total_minor

    def _editable(self, uow: UnitOfWork, invoice_id: str) -> Invoice:
        inv = q.invoice_row(uow.session, invoice_id)
        if inv.status != InvoiceStatus.DRAFT.value:
            raise ConflictError(
                f"Invoice {inv.number or ''} is {inv.status} and can no longer be edited; "
                "correct it with a credit note."
            )
        return inv

    @operation(Permission.BILLING, "billing.invoice.update", resource_type="Invoice")
    def update_draft(
        self,
        uow: UnitOfWork,
        *,
        invoice_id: str,
        lines: list[LineInput],
        note: str | None = None,
        due_date: date | None = None,
    ) -> InvoiceDetail:
        inv = self._editable(uow, invoice_id)
        self._set_lines(uow, inv, lines)
        inv.note, inv.due_date = note, due_date
        uow.changed(inv)
        uow.audit(
            "billing.invoice.update",
            resource_type="Invoice",
            resource_id=inv.id,
            patient_id=inv.patient_id,
        )
        return q.detail(uow.session, inv)

    @operation(Permission.BILLING, "billing.invoice.issue", resource_type="Invoice")
    def issue_invoice(
        self, uow: UnitOfWork, *, invoice_id: str, due_days: int = DEFAULT_DUE_DAYS
    ) -> InvoiceDetail:
        inv = self._editable(uow, invoice_id)
        if not inv.lines:
            raise ValidationError({"lines": "Add at least one line before issuing the invoice."})
        # Totals are recomputed from the stored lines so an issued invoice is self-consistent.
        rounding = q.clinic_row(uow.session).tax_rounding
        totals = invoice_totals(
            (
                line_amounts(x.quantity, x.unit_price_minor, x.discount_minor, x.tax_rate)
                for x in inv.lines
            ),
            rounding,
        )
        inv.tax_minor, inv.total_minor = totals.tax_minor, totals.total_minor
        inv.number = next_number(uow.session, "invoice", self.core.workstation_id)
        inv.status = InvoiceStatus.ISSUED.value
        inv.issued_at = self.core.now()
        inv.due_date = inv.due_date or (inv.issued_at.date() + timedelta(days=due_days))
        uow.changed(inv)
        uow.audit(
            "billing.invoice.issue",
            resource_type="Invoice",
            resource_id=inv.id,
            patient_id=inv.patient_id,
            detail={"number": inv.number, "total": inv.total_minor},
        )
        return q.detail(uow.session, inv)

    @operation(Permission.BILLING, "billing.invoice.void", resource_type="Invoice")
    def void_invoice(self, uow: UnitOfWork, *, invoice_id: str, reason: str) -> InvoiceDetail:
        if not reason.strip():
            raise ValidationError({"reason": "Say why the invoice is voided."})
        inv = q.invoice_row(uow.session, invoice_id)
        if inv.status == InvoiceStatus.VOID.value:
            raise ConflictError("This invoice is already void.")
        if q.paid_by_invoice(uow.session, [inv.id]).get(inv.id, 0):
            raise ConflictError("Money is allocated to this invoice: issue a credit note instead.")
        if q.credited_by_invoice(uow.session, [inv.id]).get(inv.id, 0):
            raise ConflictError("This invoice has a credit note: credit the rest instead.")
        inv.status, inv.void_reason, inv.voided_at = (
            InvoiceStatus.VOID.value,
            reason.strip(),
            self.core.now(),
        )
        uow.changed(inv)
        uow.audit(
            "billing.invoice.void",
            resource_type="Invoice",
            resource_id=inv.id,
            patient_id=inv.patient_id,
            reason=reason.strip(),
        )
        return q.detail(uow.session, inv)

    @operation(Permission.BILLING, "billing.credit_note.issue", resource_type="Invoice")
    def issue_credit_note(
        self, uow: UnitOfWork, *, invoice_id: str, reason: str, line_ids: list[str] | None = None
    ) -> CreditNoteInfo:
        """Credit whole lines (``line_ids``) or, with None, everything not yet credited."""
        inv = q.invoice_row(uow.session, invoice_id)
        cn = apply_credit_note(uow, inv, reason, line_ids, self.core.now())
        return q.credit_note_info(cn, inv.number)

    # --- reading ------------------------------------------------------------------------
    @operation(Permission.TAKE_PAYMENTS, "billing.invoice.read", resource_type="Invoice")
    def get_invoice(self, uow: UnitOfWork, *, invoice_id: str) -> InvoiceDetail:
        inv = q.invoice_row(uow.session, invoice_id)
        uow.audit(
            "billing.invoice.read",
            resource_type="Invoice",
            resource_id=inv.id,
            patient_id=inv.patient_id,
        )
        return q.detail(uow.session, inv)

    @operation(Permission.TAKE_PAYMENTS, "billing.invoice.list", resource_type="Invoice")
    def list_invoices(
        self,
        uow: UnitOfWork,
        *,
        status: str | None = None,
        patient_id: str | None = None,
        outstanding_only: bool = False,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int = 1000,
    ) -> list[InvoiceSummary]:
        stmt = select(Invoice).order_by(Invoice.created_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(Invoice.status == status)
        if patient_id:
            stmt = stmt.where(Invoice.patient_id == patient_id)
        tz = q.clinic_row(uow.session).timezone
        if date_from:
            stmt = stmt.where(Invoice.created_at >= day_bounds(date_from, tz)[0])
        if date_to:
            stmt = stmt.where(Invoice.created_at < day_bounds(date_to, tz)[1])
        rows = q.summaries(uow.session, list(uow.session.scalars(stmt)))
        if outstanding_only:
            rows = [r for r in rows if r.outstanding_minor > 0]
        uow.audit(
            "billing.invoice.list",
            resource_type="Invoice",
            patient_id=patient_id,
            detail={"count": len(rows)},
        )
        return rows

    @operation(Permission.BILLING, "billing.uninvoiced.list", resource_type="Appointment")
    def list_uninvoiced(
        self, uow: UnitOfWork, *, date_from: date, date_to: date | None = None
    ) -> list[UninvoicedAppointment]:
        """Completed appointments with no (non-void) invoice, so that nothing is missed."""
        tz = q.clinic_row(uow.session).timezone
        start, end = day_bounds(date_from, tz)[0], day_bounds(date_to or date_from, tz)[1]
        return uninvoiced_appointments(uow.session, start, end)

    # --- documents ----------------------------------------------------------------------
    @operation(Permission.TAKE_PAYMENTS, "billing.invoice.print", resource_type="Invoice")
    def invoice_pdf(self, uow: UnitOfWork, *, invoice_id: str) -> bytes:
        """The invoice as PDF bytes (draft and void ones carry a stamp)."""
        inv = q.invoice_row(uow.session, invoice_id)
        uow.audit(
            "billing.invoice.print",
            resource_type="Invoice",
            resource_id=inv.id,
            patient_id=inv.patient_id,
        )
        return docs.invoice_pdf(uow.session, inv)

    @operation(Permission.TAKE_PAYMENTS, "billing.credit_note.print", resource_type="Invoice")
    def credit_note_pdf(self, uow: UnitOfWork, *, credit_note_id: str) -> bytes:
        cn = uow.session.get(CreditNote, credit_note_id)
        if cn is None:
            raise NotFound("That credit note does not exist.")
        inv = q.invoice_row(uow.session, cn.invoice_id)
        uow.audit(
            "billing.credit_note.print",
            resource_type="Invoice",
            resource_id=cn.id,
            patient_id=inv.patient_id,
        )
        return docs.credit_note_pdf(uow.session, cn)
