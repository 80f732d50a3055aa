# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Billing screen: create an invoice from a completed appointment, issue it, take a partial
payment, and save it as PDF — driving the real widgets on the real encrypted store."""

from __future__ import annotations

from pypdf import PdfReader
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog

from pms_desktop.domain.enums import Role
from pms_desktop.ui.billing.billing_screen import BillingScreen
from tests.unit.conftest_billing import fees, make_appointment  # noqa: F401

M = Role.PRACTICE_MANAGER


class StatusSink:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def show_status(self, text: str) -> None:
        self.messages.append(text)


def test_invoice_from_appointment_partial_payment_and_pdf(
    qtbot,
    fees,
    actors,
    make_patient,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    pid = make_patient(given="Niamh", family="Walsh")
    make_appointment(fees, pid, fee_code="CONS-L")
    sink = StatusSink()
    screen = BillingScreen(fees, actors[M], sink)
    qtbot.addWidget(screen)
    screen.resize(1000, 640)
    screen.show()
    screen.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: screen.uninvoiced_model.rowCount() == 1, timeout=5000)
    assert "WALSH, Niamh" in screen.uninvoiced_model.rows[0]
    assert screen.create_button.isEnabled()  # the first appointment is chosen for it
    screen.create_button.click()
    qtbot.waitUntil(
        lambda: screen.editor is not None and screen.editor.detail is not None, timeout=5000
    )
    editor = screen.editor
    assert editor.table.rowCount() == 1 and editor.table.item(0, 0).text() == "CONS-L"
    assert "€95.00" in editor.totals.text()
    editor.issue_button.click()
    qtbot.waitUntil(lambda: editor.detail.summary.status == "issued", timeout=5000)
    number = editor.detail.summary.number
    assert number and number in editor.heading.text()
    assert not editor.issue_button.isVisible() and editor.pay_button.isVisible()
    qtbot.waitUntil(lambda: screen.uninvoiced_model.rowCount() == 0, timeout=5000)
    assert not screen.create_button.isEnabled()  # nothing left to invoice, nothing offered

    editor.pay_button.click()
    dialog = editor.payment_dialog
    assert dialog is not None and dialog.amount.text() == "95.00"
    dialog.amount.setText("40")
    dialog.method.setCurrentIndex(dialog.method.findData("card"))
    dialog.accept()
    qtbot.waitUntil(lambda: editor.detail.summary.paid_minor == 4000, timeout=5000)
    assert editor.detail.summary.outstanding_minor == 5500
    assert "€55.00" in editor.totals.text()
    assert any("receipt RCP-" in m for m in sink.messages)
    acct = fees.payments.patient_account(actors[M], patient_id=pid)
    assert acct.balance_minor == 5500

    target = tmp_path / "out.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PDF"))
    editor.pdf_button.click()
    qtbot.waitUntil(target.exists, timeout=10000)
    qtbot.waitUntil(lambda: any("Saved" in m for m in sink.messages), timeout=5000)
    text = PdfReader(str(target)).pages[0].extract_text()
    assert number in text and "Niamh Walsh" in text and "€55.00" in text
    editor.close()


def test_bad_payment_amount_keeps_the_dialog_open(qtbot, fees, actors, make_patient):  # noqa: F811
    from pms_desktop.services.billing_dto import LineInput

    pid = make_patient()
    d = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="ECG")])
    fees.billing.issue_invoice(actors[M], invoice_id=d.id)
    screen = BillingScreen(fees, actors[Role.RECEPTION], None)
    qtbot.addWidget(screen)
    assert screen.tabs.count() == 1  # reception: invoices only, no fee schedule
    qtbot.waitUntil(lambda: screen.invoice_model.rowCount() == 1, timeout=5000)
    editor = screen.open_invoice(d.id)
    qtbot.waitUntil(lambda: editor.detail is not None, timeout=5000)
    assert not editor.void_button.isVisible() and not editor.credit_button.isVisible()
    editor.pay_button.click()
    editor.payment_dialog.amount.setText("abc")
    buttons = editor.payment_dialog.findChildren(QDialogButtonBox)[0]
    buttons.accepted.emit()
    assert editor.payment_dialog.isVisible() and "amount" in editor.payment_dialog.error.text()
    editor.close()
