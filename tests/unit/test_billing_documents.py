# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Invoice, credit note, receipt and statement PDFs hold what a patient must read on them."""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput

from .conftest_billing import fees, set_clinic  # noqa: F401

M = Role.PRACTICE_MANAGER


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _invoice(fees, actors, pid):  # noqa: F811
    inv = fees.billing.create_invoice(
        actors[M],
        patient_id=pid,
        note="Thank you for your visit.",
        lines=[
            LineInput(fee_code="CONS-L"),
            LineInput(fee_code="CERT", quantity=Decimal(2), discount_minor=500),
        ],
    )
    return fees.billing.issue_invoice(actors[M], invoice_id=inv.id)


def test_invoice_pdf_holds_number_patient_lines_and_totals(fees, actors, make_patient):  # noqa: F811
    set_clinic(
        fees,
        legal_name="Riverside Medical Ltd",
        tax_id="IE1234567T",
        address="1 Quay Street\nGalway H91 X2Y3",
        phone="091 555 0101",
    )
    pid = make_patient(given="Aoife", family="Byrne", mrn="MRN-0042")
    inv = _invoice(fees, actors, pid)
    text = text_of(fees.billing.invoice_pdf(actors[M], invoice_id=inv.id))
    assert inv.summary.number in text
    assert "Aoife Byrne" in text and "MRN-0042" in text
    assert "Long consultation (30 min)" in text and "Medical certificate" in text
    # 95.00 + (2 x 25.00 - 5.00) = 140.00 net; tax 23% of 45.00 = 10.35; total 150.35
    assert "€140.00" in text and "€10.35" in text and "€150.35" in text
    assert "IE1234567T" in text and "Riverside Test Clinic" in text


def test_draft_invoice_pdf_says_it_is_not_issued(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    d = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="ECG")])
    text = text_of(fees.billing.invoice_pdf(actors[M], invoice_id=d.id))
    assert "Draft (not issued)" in text and "DRAFT" in text


def test_receipt_credit_note_and_statement_pdfs(fees, actors, make_patient):  # noqa: F811
    pid = make_patient(given="Aoife", family="Byrne")
    inv = _invoice(fees, actors, pid)
    pay = fees.payments.take_payment(
        actors[M], patient_id=pid, method="card", amount_minor=5000, invoice_id=inv.id
    )
    receipt = text_of(fees.payments.receipt_pdf(actors[M], payment_id=pay.id))
    assert pay.receipt_number in receipt and "€50.00" in receipt and inv.summary.number in receipt
    assert "€100.35" in receipt  # balance after
    cn = fees.billing.issue_credit_note(
        actors[M], invoice_id=inv.id, reason="Certificate not needed", line_ids=[inv.lines[1].id]
    )
    note = text_of(fees.billing.credit_note_pdf(actors[M], credit_note_id=cn.id))
    assert cn.number in note and inv.summary.number in note and "Certificate not needed" in note
    assert "€55.35" in note
    statement = text_of(fees.payments.statement_pdf(actors[M], patient_id=pid))
    for ref in (inv.summary.number, pay.receipt_number, cn.number):
        assert ref in statement
    assert "€45.00" in statement  # 150.35 - 50.00 - 55.35
