# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""The invoice editor's corrections and printing, on the real widgets and the real store:
a credit note restores the patient's balance, a voided invoice leaves the books, and "Print…"
sends every page of the invoice to the printer chosen in the print dialog."""

from __future__ import annotations

from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QDialogButtonBox, QInputDialog

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.ui.billing.billing_screen import BillingScreen
from pms_desktop.ui.widgets import printing
from tests.unit.conftest_billing import fees  # noqa: F401

M = Role.PRACTICE_MANAGER


def _issued(fees, actor, pid, *codes):  # type: ignore[no-untyped-def]
    d = fees.billing.create_invoice(actor, patient_id=pid,
                                    lines=[LineInput(fee_code=c) for c in codes])
    return fees.billing.issue_invoice(actor, invoice_id=d.id)


def _editor(qtbot, fees, actor, invoice_id):  # type: ignore[no-untyped-def]
    screen = BillingScreen(fees, actor, None)
    qtbot.addWidget(screen)
    editor = screen.open_invoice(invoice_id)
    qtbot.waitUntil(lambda: editor.detail is not None, timeout=5000)
    return screen, editor


def _answer(monkeypatch, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def get_text(parent, title, label, *a, **k):  # type: ignore[no-untyped-def]
        asked.append(title)
        return text, True
    monkeypatch.setattr(QInputDialog, "getText", get_text)
    return asked


def test_credit_note_after_a_partial_payment_restores_the_balance(qtbot, fees, actors,
                                                                   make_patient, monkeypatch):
    pid = make_patient(given="Ciara", family="Doyle")
    inv = _issued(fees, actors[M], pid, "CONS-L", "ECG")
    fees.payments.take_payment(actors[M], patient_id=pid, amount_minor=2000, method="cash",
                               invoice_id=inv.id)
    _screen, editor = _editor(qtbot, fees, actors[M], inv.id)
    assert editor.credit_button.isVisible() and not editor.void_button.isVisible()
    total = editor.detail.summary.total_minor
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == total - 2000

    asked = _answer(monkeypatch, "Charged in error")
    editor.table.selectRow(1)  # the ECG line only
    ecg = editor.detail.lines[1].total_minor
    editor.credit_button.click()
    qtbot.waitUntil(lambda: editor.detail.summary.credited_minor > 0, timeout=5000)
    assert asked == ["Credit note"]
    credited = editor.detail.summary.credited_minor
    assert credited == ecg
    assert credited < total and editor.credit_button.isVisible()  # the rest can still be credited
    balance = fees.payments.patient_account(actors[M], patient_id=pid).balance_minor
    assert balance == total - 2000 - credited

    editor.table.clearSelection()  # everything not yet credited
    editor.credit_button.click()
    qtbot.waitUntil(lambda: editor.detail.summary.credited_minor == total, timeout=5000)
    assert not editor.credit_button.isVisible()
    # fully credited: the 20.00 paid is now the patient's credit, the invoice owes nothing
    assert editor.detail.summary.outstanding_minor <= 0
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == -2000
    assert "Credited" in editor.totals.text()
    editor.close()


def test_void_with_a_reason_takes_the_invoice_out_of_the_balance(qtbot, fees, actors,
                                                                  make_patient, monkeypatch):
    pid = make_patient(given="Eoin", family="Farrell")
    inv = _issued(fees, actors[M], pid, "ECG")
    _screen, editor = _editor(qtbot, fees, actors[M], inv.id)
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor > 0

    _answer(monkeypatch, "   ")  # a blank reason does nothing
    editor.void_button.click()
    qtbot.wait(100)
    assert editor.detail.summary.status == "issued"

    _answer(monkeypatch, "Duplicate of an earlier invoice")
    editor.void_button.click()
    qtbot.waitUntil(lambda: editor.detail.summary.status == "void", timeout=5000)
    assert "Duplicate of an earlier invoice" in editor.subheading.text() + editor.heading.text()
    assert not editor.void_button.isVisible() and not editor.pay_button.isVisible()
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == 0
    editor.close()


def test_print_sends_every_page_to_the_chosen_printer(qtbot, fees, actors, make_patient,
                                                      monkeypatch, tmp_path):
    pid = make_patient(given="Aisling", family="Murphy")
    inv = _issued(fees, actors[M], pid, "CONS-L")
    _screen, editor = _editor(qtbot, fees, actors[M], inv.id)
    out = tmp_path / "printed.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    chosen: list[str] = []

    def choose(parent, title):  # type: ignore[no-untyped-def]
        chosen.append(title)
        return printer
    monkeypatch.setattr(printing, "choose_printer", choose)
    messages: list[str] = []
    editor.status.connect(messages.append)
    editor.print_button.click()
    qtbot.waitUntil(lambda: "Sent to the printer." in messages, timeout=15000)
    assert chosen and inv.summary.number in chosen[0]
    original = PdfReader(__import__("io").BytesIO(
        fees.billing.invoice_pdf(actors[M], invoice_id=inv.id)))
    printed = PdfReader(str(out))
    assert len(printed.pages) == len(original.pages) >= 1
    # the printed page is the invoice drawn at printer resolution: an image, not a blank page
    page = printed.pages[0]
    images = list(page.images)
    assert images and images[0].image.width >= 2000
    assert images[0].image.convert("L").getextrema()[0] < 100  # dark ink on it

    # cancelling the dialog prints nothing
    monkeypatch.setattr(printing, "choose_printer", lambda parent, title: None)
    out.unlink()
    editor.print_button.click()
    qtbot.wait(200)
    assert not out.exists()
    editor.close()


def test_standalone_invoice_for_a_patient_found_by_name(qtbot, fees, actors, make_patient):
    make_patient(given="Niamh", family="Walsh")
    pid = make_patient(given="Sean", family="Walsh")
    screen = BillingScreen(fees, actors[M], None)
    qtbot.addWidget(screen)
    screen.show()
    screen.new_button.click()
    picker = screen.picker
    assert picker is not None and picker.isVisible()
    ok = picker.buttons.buttons()[0]
    assert not ok.isEnabled()  # nothing chosen yet
    qtbot.keyClicks(picker.search, "zzqx")
    qtbot.waitUntil(lambda: "No patient matches" in picker.note.text(), timeout=5000)
    assert not ok.isEnabled()
    picker.search.clear()
    qtbot.keyClicks(picker.search, "walsh sean")
    qtbot.waitUntil(lambda: picker.model.rowCount() == 1, timeout=5000)
    assert picker.chosen is not None and picker.chosen.id == pid
    qtbot.keyClick(picker.search, "\r")
    qtbot.waitUntil(lambda: screen.editor is not None and screen.editor.detail is not None,
                    timeout=5000)
    editor = screen.editor
    assert editor.detail.summary.patient_id == pid
    assert editor.detail.summary.status == "draft" and editor.table.rowCount() == 0
    editor.fee_combo.setCurrentIndex(editor.fee_combo.findText("ECG", Qt.MatchFlag.MatchContains))
    editor.add_button.click()
    assert editor.table.rowCount() == 1
    editor.issue_button.click()
    qtbot.waitUntil(lambda: editor.detail.summary.status == "issued", timeout=5000)
    assert fees.payments.patient_account(actors[M], patient_id=pid).balance_minor == \
        editor.detail.summary.total_minor > 0
    editor.close()


def test_manager_voids_a_payment_from_the_patient_account(qtbot, fees, actors, make_patient,
                                                          monkeypatch):
    from pms_desktop.ui.billing.patient_account_panel import PatientAccountPanel

    pid = make_patient(given="Orla", family="Nolan")
    inv = _issued(fees, actors[M], pid, "ECG")
    fees.payments.take_payment(actors[Role.RECEPTION], patient_id=pid, method="card",
                               amount_minor=inv.summary.total_minor, invoice_id=inv.id)
    reception = PatientAccountPanel(fees, actors[Role.RECEPTION], pid, None)
    qtbot.addWidget(reception)
    assert reception.void_payment_button is None  # reception takes money, does not void it

    panel = PatientAccountPanel(fees, actors[M], pid, None)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.account is not None and panel.payments.rowCount() == 1,
                    timeout=5000)
    assert "settled" in panel.balance.text()
    _answer(monkeypatch, "Card payment declined after the patient left")
    panel.void_payment_button.click()  # nothing selected: nothing happens
    assert panel.account.paid_minor == inv.summary.total_minor
    panel.payment_view.selectRow(0)
    panel.void_payment_button.click()
    qtbot.waitUntil(lambda: panel.account.paid_minor == 0, timeout=5000)
    assert "Balance due" in panel.balance.text() and panel.payments.rowCount() == 0
    assert fees.billing.get_invoice(actors[M], invoice_id=inv.id).summary.outstanding_minor > 0


def _pdf_printer(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """Every print dialog 'chooses' a PDF printer writing the next file in tmp_path."""
    jobs: list[tuple[str, object]] = []

    def choose(parent, title):  # type: ignore[no-untyped-def]
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        out = tmp_path / f"job{len(jobs)}.pdf"
        printer.setOutputFileName(str(out))
        jobs.append((title, out))
        return printer
    monkeypatch.setattr(printing, "choose_printer", choose)
    return jobs


def test_receipt_and_credit_note_are_printed_from_the_invoice(qtbot, fees, actors, make_patient,
                                                              monkeypatch, tmp_path):
    pid = make_patient(given="Roisin", family="Kavanagh")
    inv = _issued(fees, actors[M], pid, "CONS-L")
    _screen, editor = _editor(qtbot, fees, actors[M], inv.id)
    jobs = _pdf_printer(monkeypatch, tmp_path)
    messages: list[str] = []
    editor.status.connect(messages.append)

    editor.pay_button.click()
    editor.payment_dialog.amount.setText("30")
    editor.payment_dialog.print_receipt.setChecked(True)
    editor.payment_dialog.accept()
    qtbot.waitUntil(lambda: "Sent to the printer." in messages or len(jobs) == 1, timeout=10000)
    qtbot.waitUntil(lambda: jobs and jobs[0][1].exists() and jobs[0][1].stat().st_size > 0,
                    timeout=15000)
    assert "RCP-" in jobs[0][0]
    assert not editor.credit_notes_button.isVisible()

    _answer(monkeypatch, "Goodwill")
    editor.credit_button.click()
    qtbot.waitUntil(lambda: editor.detail.credit_notes != (), timeout=5000)
    assert editor.credit_notes_button.isVisible()
    number = editor.detail.credit_notes[0].number
    print_action = editor.credit_notes_menu.actions()[0]
    assert number in print_action.text()
    print_action.trigger()
    qtbot.waitUntil(lambda: len(jobs) == 2 and jobs[1][1].exists(), timeout=15000)
    qtbot.waitUntil(lambda: messages.count("Sent to the printer.") >= 1, timeout=15000)
    assert number in jobs[1][0]
    assert len(PdfReader(str(jobs[1][1])).pages) >= 1
    editor.close()


def test_credit_applied_to_a_later_invoice_and_the_rest_refunded(qtbot, fees, actors,
                                                                 make_patient):
    from pms_desktop.ui.billing.patient_account_panel import PatientAccountPanel

    pid = make_patient(given="Tadhg", family="Ryan")
    fees.payments.take_payment(actors[Role.RECEPTION], patient_id=pid, method="cash",
                               amount_minor=20000)  # paid in advance: all credit
    inv = _issued(fees, actors[M], pid, "ECG")
    owed = inv.summary.total_minor
    panel = PatientAccountPanel(fees, actors[Role.RECEPTION], pid, None)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.account is not None and panel.invoices.rowCount() == 1,
                    timeout=5000)
    assert panel.credit_button.isEnabled()
    panel.invoice_view.selectRow(0)
    panel.apply_credit_action.trigger()
    qtbot.waitUntil(lambda: panel.account.unallocated_credit_minor == 20000 - owed,
                    timeout=5000)
    assert fees.billing.get_invoice(actors[M], invoice_id=inv.id).summary.outstanding_minor == 0

    panel.refund_action.trigger()
    dialog = panel.refund_dialog
    assert dialog is not None and dialog.amount.text() == f"{(20000 - owed) / 100:.2f}"
    dialog.amount.setText("999999")  # more than the credit: refused, the reason typed stays
    dialog.reason.setText("Moving abroad")
    dialog.findChildren(QDialogButtonBox)[0].accepted.emit()
    assert dialog.isVisible() and "up to the patient's credit" in dialog.error.text()
    assert dialog.reason.text() == "Moving abroad"
    dialog.amount.setText(f"{(20000 - owed) / 100:.2f}")
    dialog.findChildren(QDialogButtonBox)[0].accepted.emit()
    qtbot.waitUntil(lambda: panel.account.unallocated_credit_minor == 0, timeout=5000)
    assert panel.account.refunded_minor == 20000 - owed
    assert "settled" in panel.balance.text() and not panel.credit_button.isEnabled()
    unallocated = [panel.payments.index(r, 5).data() for r in range(panel.payments.rowCount())]
    assert not any(unallocated), unallocated  # no payment still shows credit refunded
