# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""The reports screen as the practice manager reads it: a revenue report by day writes its days
as its own subtitle writes the period ('2 Nov 2026'); the CSV keeps ISO dates for spreadsheets."""

from __future__ import annotations

import csv
from datetime import date

from PySide6.QtWidgets import QFileDialog

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.billing_period import local_date
from pms_desktop.ui.reports.reports_screen import ReportsScreen
from tests.unit.conftest_billing import fees  # noqa: F401

M = Role.PRACTICE_MANAGER


def test_revenue_by_day_shows_its_days_as_the_subtitle_does(
    qtbot, fees, actors, make_patient, tmp_path, monkeypatch
):  # noqa: F811
    pid = make_patient()
    draft = fees.billing.create_invoice(actors[M], patient_id=pid,
                                        lines=[LineInput(fee_code="CONS-S")])
    issued = fees.billing.issue_invoice(actors[M], invoice_id=draft.id).summary.issued_at
    assert issued is not None
    # The clinic's day of issue, as the report counts it (the machine's date.today() differs
    # from it for an hour or more around midnight, and at a month's turn the range missed it).
    clinic = fees.setup.clinic()
    assert clinic is not None
    today = local_date(issued, clinic.timezone)
    screen = ReportsScreen(fees, actors[M], None)
    qtbot.addWidget(screen)
    screen.show()
    assert screen.group.currentData() == "period"
    screen.date_from.setDate(today.replace(day=1))
    screen.date_to.setDate(today)
    screen.run_button.click()
    qtbot.waitUntil(lambda: screen.report is not None, timeout=5000)
    target = tmp_path / "rev.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV"))
    screen.csv_button.click()
    qtbot.waitUntil(lambda: target.exists() and target.stat().st_size > 0, timeout=5000)
    day = date.fromisoformat(next(csv.DictReader(target.open()))["Day"])  # ISO in the CSV
    shown = f"{day.day} {day:%b %Y}"  # as the subtitle: '1 Nov 2026 – 22 Nov 2026'
    assert screen.model.index(0, 0).data() == shown
    assert f"{today.replace(day=1):%b %Y}" in screen.basis.text()
    assert screen.report.chart is not None
    assert screen.report.chart.labels == (f"{day.day} {day:%b}",)
