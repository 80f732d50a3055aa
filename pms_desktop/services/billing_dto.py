"""Plain frozen data handed out (and taken in) by the billing, payments and reports services.

Money is integer minor units in the invoice's currency; rates and quantities are Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class FeeItemInfo:
    id: str
    code: str
    description: str
    price_minor: int
    tax_rate: Decimal
    active: bool


@dataclass(frozen=True)
class LineInput:
    """One line as typed in the invoice editor. ``fee_code`` fills in what is left empty."""

    description: str = ""
    quantity: Decimal = Decimal(1)
    unit_price_minor: int | None = None
    discount_minor: int = 0
    tax_rate: Decimal | None = None
    fee_code: str | None = None


@dataclass(frozen=True)
class InvoiceLineInfo:
    id: str
    position: int
    code: str | None
    description: str
    quantity: Decimal
    unit_price_minor: int
    discount_minor: int
    tax_rate: Decimal
    net_minor: int
    tax_minor: int
    total_minor: int
    credited: bool = False


@dataclass(frozen=True)
class CreditNoteInfo:
    id: str
    number: str
    invoice_id: str
    invoice_number: str | None
    reason: str
    issued_at: datetime
    net_minor: int
    tax_minor: int
    total_minor: int
    lines: tuple[InvoiceLineInfo, ...] = ()


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    number: str | None
    patient_id: str
    patient_name: str
    practitioner_name: str | None
    status: str
    currency: str
    created_at: datetime
    issued_at: datetime | None
    total_minor: int
    paid_minor: int
    credited_minor: int
    outstanding_minor: int
    appointment_id: str | None = None


@dataclass(frozen=True)
class InvoiceDetail:
    summary: InvoiceSummary
    lines: tuple[InvoiceLineInfo, ...]
    subtotal_minor: int
    discount_minor: int
    net_minor: int
    tax_minor: int
    due_date: date | None
    note: str | None
    void_reason: str | None
    tax_rounding: str
    credit_notes: tuple[CreditNoteInfo, ...] = ()
    practitioner_id: str | None = None
    encounter_id: str | None = None

    @property
    def id(self) -> str:
        return self.summary.id


@dataclass(frozen=True)
class UninvoicedAppointment:
    appointment_id: str
    patient_id: str
    patient_name: str
    practitioner_name: str
    start_at: datetime
    type_name: str | None
    fee_code: str | None


@dataclass(frozen=True)
class AllocationInfo:
    invoice_id: str
    invoice_number: str | None
    amount_minor: int


@dataclass(frozen=True)
class PaymentInfo:
    id: str
    patient_id: str
    patient_name: str
    kind: str  # payment | refund
    method: str
    amount_minor: int
    currency: str
    received_at: datetime
    reference: str | None
    receipt_number: str | None
    allocations: tuple[AllocationInfo, ...] = ()
    unallocated_minor: int = 0
    received_by: str | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None


@dataclass(frozen=True)
class StatementEntry:
    at: datetime
    kind: str  # invoice | credit_note | payment | refund
    reference: str
    description: str
    debit_minor: int
    credit_minor: int
    balance_minor: int


@dataclass(frozen=True)
class PatientAccount:
    patient_id: str
    patient_name: str
    currency: str
    invoiced_minor: int
    credited_minor: int
    paid_minor: int
    refunded_minor: int
    balance_minor: int  # > 0: the patient owes; < 0: the patient is in credit
    unallocated_credit_minor: int  # payments not yet applied to an invoice
    invoices: tuple[InvoiceSummary, ...] = ()
    payments: tuple[PaymentInfo, ...] = ()
    entries: tuple[StatementEntry, ...] = field(default=())
