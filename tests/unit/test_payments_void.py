# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Voiding a payment recorded in error: it stops counting in the balance, the invoice it paid
and the takings, stays on record with its reason and in the access log, and cannot take back
money already refunded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, PermissionDenied, ValidationError
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.store.models import AuditEntry, OutboxChange, Payment

from .conftest_billing import fees  # noqa: F401

M, R = Role.PRACTICE_MANAGER, Role.RECEPTION


def _owing(fees, actors, pid):  # type: ignore[no-untyped-def]
    d = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="ECG")])
    return fees.billing.issue_invoice(actors[M], invoice_id=d.id)


def test_voided_payment_no_longer_pays_the_invoice_or_counts_in_takings(fees, actors,
                                                                         make_patient):
    pid = make_patient()
    inv = _owing(fees, actors, pid)
    total = inv.summary.total_minor
    pay = fees.payments.take_payment(actors[R], patient_id=pid, method="card",
                                     amount_minor=total, invoice_id=inv.id)
    today = datetime.now(UTC).date()
    takings = fees.reports.run(actors[M], kind="takings", date_from=today, date_to=today)
    assert takings.totals[-1] == total
    assert fees.billing.get_invoice(actors[M], invoice_id=inv.id).summary.outstanding_minor == 0

    with pytest.raises(PermissionDenied):  # reception takes money; the manager corrects it
        fees.payments.void_payment(actors[R], payment_id=pay.id, reason="Wrong card")
    with pytest.raises(ValidationError):
        fees.payments.void_payment(actors[M], payment_id=pay.id, reason="  ")
    voided = fees.payments.void_payment(actors[M], payment_id=pay.id, reason="Card declined")

    assert voided.voided_at is not None and voided.void_reason == "Card declined"
    assert fees.billing.get_invoice(actors[M], invoice_id=inv.id).summary.outstanding_minor \
        == total
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == total
    takings = fees.reports.run(actors[M], kind="takings", date_from=today, date_to=today)
    assert not takings.rows or takings.totals[-1] == 0
    with pytest.raises(ConflictError):
        fees.payments.void_payment(actors[M], payment_id=pay.id, reason="again")
    with fees.db.sessions()() as s:
        row = s.get(Payment, pay.id)
        assert row is not None and row.voided_at is not None  # kept, never deleted
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "payments.void",
                                                AuditEntry.reason == "Card declined")).one()
        assert entry.patient_id == pid and entry.reason == "Card declined"
        assert s.scalars(select(OutboxChange).where(OutboxChange.resource_id == pay.id)).first()


def test_refunded_money_cannot_be_voided_away(fees, actors, make_patient):
    pid = make_patient()
    pay = fees.payments.take_payment(actors[R], patient_id=pid, method="cash", amount_minor=5000)
    refund = fees.payments.refund(actors[M], patient_id=pid, amount_minor=3000, method="cash",
                                  reason="Overpaid")
    with pytest.raises(ConflictError, match="void the refund first"):
        fees.payments.void_payment(actors[M], payment_id=pay.id, reason="Entered twice")
    fees.payments.void_payment(actors[M], payment_id=refund.id, reason="Refund not paid out")
    fees.payments.void_payment(actors[M], payment_id=pay.id, reason="Entered twice")
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == 0
    assert fees.payments.patient_account(actors[M], patient_id=pid).unallocated_credit_minor == 0


def test_each_payments_unallocated_part_adds_up_to_the_credit_after_refunds(fees, actors,
                                                                          make_patient):
    pid = make_patient()
    first = fees.payments.take_payment(actors[R], patient_id=pid, method="cash", amount_minor=5000)
    second = fees.payments.take_payment(actors[R], patient_id=pid, method="card", amount_minor=2000)
    fees.payments.refund(actors[M], patient_id=pid, amount_minor=3000, method="cash",
                         reason="Overpaid")
    account = fees.payments.patient_account(actors[M], patient_id=pid)
    free = {p.id: p.unallocated_minor for p in account.payments if p.kind == "payment"}
    assert account.unallocated_credit_minor == 4000
    assert sum(free.values()) == 4000  # not 7,000: the refund paid 3,000 of it back
    assert free == {second.id: 0, first.id: 4000}  # refunds draw on the newest first
