"""Fee schedule, invoices and lines, credit notes, payments and their allocation.

Money is integer minor units (cents); tax rates are exact decimals. Never float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, SyncMixin, fhir_type, uuid_pk


@fhir_type("ChargeItemDefinition")
class FeeItem(SyncMixin, Base):
    __tablename__ = "fee_item"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    price_minor: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[Decimal]  # 0.20 for 20 %
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("Invoice")
class Invoice(SyncMixin, Base):
    __tablename__ = "invoice"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"))
    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # given when issued
    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    practitioner_id: Mapped[str | None] = mapped_column(ForeignKey("practitioner.id"))
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    encounter_id: Mapped[str | None] = mapped_column(ForeignKey("encounter.id"))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    issued_at: Mapped[datetime | None]
    due_date: Mapped[date | None] = mapped_column(Date)
    void_reason: Mapped[str | None] = mapped_column(String(200))
    voided_at: Mapped[datetime | None]
    subtotal_minor: Mapped[int] = mapped_column(Integer, default=0)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    tax_minor: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list[InvoiceLine]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_line"

    id: Mapped[str] = uuid_pk()
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    fee_item_id: Mapped[str | None] = mapped_column(ForeignKey("fee_item.id"))
    code: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal]
    unit_price_minor: Mapped[int] = mapped_column(Integer)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    tax_rate: Mapped[Decimal]
    net_minor: Mapped[int] = mapped_column(Integer)
    tax_minor: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(Integer)


@fhir_type("Invoice")
class CreditNote(SyncMixin, Base):
    """Corrects an issued invoice (which itself never changes)."""

    __tablename__ = "credit_note"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime]
    issued_by: Mapped[str | None] = mapped_column(String(36))
    net_minor: Mapped[int] = mapped_column(Integer)
    tax_minor: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(Integer)

    lines: Mapped[list[CreditNoteLine]] = relationship(
        cascade="all, delete-orphan", order_by="CreditNoteLine.position"
    )


class CreditNoteLine(Base):
    __tablename__ = "credit_note_line"

    id: Mapped[str] = uuid_pk()
    credit_note_id: Mapped[str] = mapped_column(ForeignKey("credit_note.id"), index=True)
    invoice_line_id: Mapped[str | None] = mapped_column(ForeignKey("invoice_line.id"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    net_minor: Mapped[int] = mapped_column(Integer)
    tax_minor: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(Integer)


@fhir_type("PaymentReconciliation")
class Payment(SyncMixin, Base):
    """Money in (payment) or out (refund). What is not allocated is the patient's credit."""

    __tablename__ = "payment"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="payment")
    method: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(Integer)  # always positive; kind gives the sign
    currency: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(index=True)
    received_by: Mapped[str | None] = mapped_column(String(36))
    reference: Mapped[str | None] = mapped_column(String(100))
    receipt_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(200))

    allocations: Mapped[list[PaymentAllocation]] = relationship(cascade="all, delete-orphan")


class PaymentAllocation(Base):
    __tablename__ = "payment_allocation"

    id: Mapped[str] = uuid_pk()
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
