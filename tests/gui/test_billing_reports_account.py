# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Reports screen (table + chart + CSV export) and the patient's account panel."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

from PySide6.QtWidgets import QFileDialog

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.ui.billing.patient_account_panel import PatientAccountPanel
from pms_desktop.ui.reports.reports_screen import ReportsScreen
from tests.unit.conftest_billing import fees  # noqa: F401

M = Role.PRACTICE_MANAGER


def _bill(fees, actors, pid, code):  # noqa: F811
    d = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code=code)])
    return fees.billing.issue_invoice(actors[M], invoice_id=d.id)


def test_revenue_report_on_screen_with_chart_and_csv(
    qtbot, fees, actors, make_patient, tmp_path, monkeypatch
):  # noqa: F811
    pid = make_patient()
    for code in ("CONS-S", "CONS-S", "ECG"):
        _bill(fees, actors, pid, code)
    screen = ReportsScreen(fees, actors[M], None)
    qtbot.addWidget(screen)
    screen.resize(1100, 700)
    screen.show()
    screen.group.setCurrentIndex(2)  # by service
    screen.date_from.setDate(date.today().replace(day=1))
    screen.run_button.click()
    qtbot.waitUntil(lambda: screen.report is not None, timeout=5000)
    assert "Counted by invoice date" in screen.basis.text()
    cells = [
        [screen.model.index(r, c).data() for c in range(screen.model.columnCount())]
        for r in range(screen.model.rowCount())
    ]
    assert cells[-1][0] == "Total" and cells[-1][4] == "€165.00"
    assert screen.canvas is not None and screen.chart_box.isVisible()
    assert not screen.grab().isNull()
    target = tmp_path / "rev.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV"))
    screen.csv_button.click()
    qtbot.waitUntil(target.exists, timeout=5000)
    qtbot.waitUntil(lambda: target.stat().st_size > 0, timeout=5000)
    rows = list(csv.DictReader(target.open()))
    assert Decimal(rows[-1]["Net revenue"]) == Decimal("165.00")


def test_account_panel_shows_balance_and_takes_payment_on_account(
    qtbot, fees, actors, make_patient
):  # noqa: F811
    pid = make_patient()
    _bill(fees, actors, pid, "HOME")
    panel = PatientAccountPanel(fees, actors[Role.RECEPTION], pid, None)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.account is not None, timeout=5000)
    assert "€150.00" in panel.balance.text() and panel.invoices.rowCount() == 1
    panel._take_payment()
    panel.payment_dialog.amount.setText("200")
    panel.payment_dialog.accept()
    qtbot.waitUntil(lambda: panel.account.paid_minor == 20000, timeout=5000)
    assert "In credit" in panel.balance.text() and "€50.00" in panel.balance.text()
    assert panel.payments.rowCount() == 1 and panel.account.unallocated_credit_minor == 5000
