# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Invoices: drafts from appointments, issue, immutability, void, credit notes and balances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, PermissionDenied, ValidationError
from pms_desktop.services.billing_dto import LineInput

from .conftest_billing import fees, make_appointment, make_encounter  # noqa: F401

M = Role.PRACTICE_MANAGER


def test_default_fee_schedule_is_installed_once(fees, actors):  # noqa: F811
    items = fees.billing.list_fee_items(actors[M])
    codes = {i.code: i for i in items}
    assert codes["CONS-S"].price_minor == 6000
    assert codes["VACC-FLU"].tax_rate == Decimal("0.135")
    assert fees.billing.install_default_fee_schedule(actors[M]) == 0


def test_invoice_from_appointment_is_prefilled_and_issued_with_a_number(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    appt = make_appointment(fees, pid, fee_code="CONS-L")
    draft = fees.billing.create_invoice_from_appointment(actors[M], appointment_id=appt)
    assert draft.summary.status == "draft" and draft.summary.number is None
    assert [x.code for x in draft.lines] == ["CONS-L"]
    assert draft.summary.total_minor == 9500
    issued = fees.billing.issue_invoice(actors[M], invoice_id=draft.id)
    assert issued.summary.number and issued.summary.number.startswith("INV-")
    assert issued.summary.outstanding_minor == 9500
    with pytest.raises(ConflictError):
        fees.billing.create_invoice_from_appointment(actors[M], appointment_id=appt)


def test_invoice_from_encounter_uses_its_appointment(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    enc = make_encounter(fees, make_appointment(fees, pid, fee_code="NURSE", type_name="Nurse"))
    draft = fees.billing.create_invoice_from_encounter(actors[M], encounter_id=enc)
    assert [x.code for x in draft.lines] == ["NURSE"]
    assert draft.encounter_id == enc


def test_issued_invoice_is_never_edited(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    inv = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="ECG")])
    fees.billing.issue_invoice(actors[M], invoice_id=inv.id)
    with pytest.raises(ConflictError):
        fees.billing.update_draft(actors[M], invoice_id=inv.id, lines=[LineInput(fee_code="CERT")])
    with pytest.raises(ConflictError):
        fees.billing.issue_invoice(actors[M], invoice_id=inv.id)
    assert fees.billing.get_invoice(actors[M], invoice_id=inv.id).summary.total_minor == 4500


def test_bad_lines_are_refused_with_field_errors(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    with pytest.raises(ValidationError) as e:
        fees.billing.create_invoice(
            actors[M],
            patient_id=pid,
            lines=[
                LineInput(fee_code="NOPE"),
                LineInput(description="", unit_price_minor=100),
                LineInput(description="x", unit_price_minor=100, discount_minor=500),
            ],
        )
    assert set(e.value.field_errors) == {"lines[0].fee_code", "lines[1].description", "lines[2]"}
    draft = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[])
    with pytest.raises(ValidationError):
        fees.billing.issue_invoice(actors[M], invoice_id=draft.id)


def test_void_needs_a_reason_and_no_payment(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    a = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="TELE")])
    fees.billing.issue_invoice(actors[M], invoice_id=a.id)
    with pytest.raises(ValidationError):
        fees.billing.void_invoice(actors[M], invoice_id=a.id, reason=" ")
    voided = fees.billing.void_invoice(actors[M], invoice_id=a.id, reason="Wrong patient")
    assert voided.summary.status == "void" and voided.summary.outstanding_minor == 0
    b = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="TELE")])
    fees.billing.issue_invoice(actors[M], invoice_id=b.id)
    fees.payments.take_payment(
        actors[M], patient_id=pid, method="cash", amount_minor=1000, invoice_id=b.id
    )
    with pytest.raises(ConflictError):
        fees.billing.void_invoice(actors[M], invoice_id=b.id, reason="Oops")


def test_credit_note_restores_the_balance(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    before = fees.payments.patient_account(actors[M], patient_id=pid).balance_minor
    inv = fees.billing.create_invoice(
        actors[M],
        patient_id=pid,
        lines=[
            LineInput(fee_code="CERT", quantity=Decimal(3)),
            LineInput(fee_code="VACC-FLU"),
            LineInput(fee_code="CONS-S", discount_minor=1000),
        ],
    )
    inv = fees.billing.issue_invoice(actors[M], invoice_id=inv.id)
    acct = fees.payments.patient_account(actors[M], patient_id=pid)
    assert acct.balance_minor == before + inv.summary.total_minor
    first = fees.billing.issue_credit_note(
        actors[M], invoice_id=inv.id, reason="Not done", line_ids=[inv.lines[1].id]
    )
    assert first.total_minor == inv.lines[1].total_minor and first.number.startswith("CN-")
    fees.billing.issue_credit_note(actors[M], invoice_id=inv.id, reason="Whole invoice in error")
    after = fees.payments.patient_account(actors[M], patient_id=pid)
    assert after.balance_minor == before
    assert fees.billing.get_invoice(actors[M], invoice_id=inv.id).summary.outstanding_minor == 0
    with pytest.raises(ConflictError):
        fees.billing.issue_credit_note(actors[M], invoice_id=inv.id, reason="again")


def test_credit_note_on_a_paid_invoice_leaves_the_money_as_credit(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    inv = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="HOME")])
    fees.billing.issue_invoice(actors[M], invoice_id=inv.id)
    fees.payments.take_payment(
        actors[M], patient_id=pid, method="card", amount_minor=15000, invoice_id=inv.id
    )
    fees.billing.issue_credit_note(actors[M], invoice_id=inv.id, reason="Visit cancelled")
    acct = fees.payments.patient_account(actors[M], patient_id=pid)
    assert acct.balance_minor == -15000 and acct.unallocated_credit_minor == 15000
    refund = fees.payments.refund(
        actors[M], patient_id=pid, amount_minor=15000, method="card", reason="Visit cancelled"
    )
    assert refund.receipt_number
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == 0


def test_reception_takes_payments_but_cannot_invoice(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    with pytest.raises(PermissionDenied):
        fees.billing.create_invoice(actors[Role.RECEPTION], patient_id=pid, lines=[])
    with pytest.raises(PermissionDenied):
        fees.billing.save_fee_item(
            actors[Role.CLINICIAN], code="X", description="x", price_minor=1, tax_rate=Decimal(0)
        )
    fees.payments.take_payment(
        actors[Role.RECEPTION], patient_id=pid, method="cash", amount_minor=500
    )


def test_fee_schedule_is_editable_by_the_manager(fees, actors):  # noqa: F811
    item = fees.billing.save_fee_item(
        actors[M],
        code="PHYSIO",
        description="Physiotherapy",
        price_minor=7000,
        tax_rate=Decimal("0.23"),
    )
    fees.billing.save_fee_item(
        actors[M],
        fee_item_id=item.id,
        code="PHYSIO",
        description="Physiotherapy",
        price_minor=7500,
        tax_rate=Decimal("0.23"),
        active=False,
    )
    assert "PHYSIO" not in {i.code for i in fees.billing.list_fee_items(actors[M])}
    with pytest.raises(ValidationError) as e:
        fees.billing.save_fee_item(
            actors[M], code="VAT", description="x", price_minor=1, tax_rate=Decimal("1.5")
        )
    assert set(e.value.field_errors) == {"tax_rate"}
    with pytest.raises(ValidationError) as e:
        fees.billing.save_fee_item(
            actors[M], code="CONS-S", description="dup", price_minor=1, tax_rate=Decimal(0)
        )
    assert set(e.value.field_errors) == {"code"}
