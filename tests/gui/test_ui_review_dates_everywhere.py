# ruff: noqa: F811  (the billing fixture imported from conftest_billing)
"""Every screen writes a day for reading the one way the banner does, the month in words and
the day without a leading zero ('4 Jan 2026', '4 Jan 2026 10:30'): the patient search's date
of birth, the chart's dates and times, the billing lists and the audit log. A 04/01/2026 reads
as April to some, and '04 Jan' differed from the banner's '4 Jan'."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import QDate, Qt
from sqlalchemy import update

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.clinical_results import IncomingResult, insert_incoming_report
from pms_desktop.store.models.billing import Invoice
from tests.unit.conftest_billing import fees  # noqa: F401

pytestmark = pytest.mark.usefixtures("themed", "isolated_settings")
WAIT = 20_000
JAN_4 = QDate(2026, 1, 4)


def test_the_patient_search_shows_the_date_of_birth_in_words(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    from pms_desktop.ui.patients.patients_screen import PatientsScreen

    make_patient(given="Aoife", family="Quinlan", birth_date=date(2001, 1, 4))
    screen = PatientsScreen(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(screen)
    screen.show()
    qtbot.keyClicks(screen.search, "quinlan")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 1, timeout=WAIT)
    assert screen.model.index(0, 1).data() == "4 Jan 2001"  # it was 04/01/2001
    # What a screen reader says of the row: the month in full, no '04' (it was '04 January').
    spoken = screen.model.index(0, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == "Aoife Quinlan, born 4 January 2001"


def test_the_chart_writes_its_dates_in_words(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    from tests.gui.test_chart import open_chart

    pid = make_patient()
    insert_incoming_report(
        ctx.core, patient_id=pid, code="58410-2", display="Full blood count",
        issued_at=datetime(2026, 1, 4, 10, 30, tzinfo=UTC), performer="City Lab",
        results=[IncomingResult("718-7", "Haemoglobin", Decimal("13.1"), "g/dL", Decimal("12"),
                                Decimal("15.5"))])
    panel = open_chart(qtbot, ctx, actors[Role.CLINICIAN], pid)
    zone = panel.clock.zone
    expected = datetime(2026, 1, 4, 10, 30, tzinfo=UTC).astimezone(zone)
    shown = f"{expected.day} Jan 2026 {expected:%H:%M}"
    timeline = panel.timeline_tab.model
    assert shown in [timeline.index(r, 0).data() for r in range(timeline.rowCount())]
    panel.select_tab("results")
    reports = panel.results_tab.report_table.model()
    assert reports.index(0, 0).data() == shown  # it was 04/01/2026 10:30


def test_the_invoice_list_and_its_date_field_write_the_day_in_words(  # type: ignore[no-untyped-def]
        qtbot, fees, actors, make_patient) -> None:
    from pms_desktop.ui.billing.billing_screen import BillingScreen

    manager = actors[Role.PRACTICE_MANAGER]
    draft = fees.billing.create_invoice(manager, patient_id=make_patient(),
                                        lines=[LineInput(fee_code="ECG")])
    fees.billing.issue_invoice(manager, invoice_id=draft.id)
    with fees.db.sessions()() as s, s.begin():
        s.execute(update(Invoice).where(Invoice.id == draft.id)
                  .values(issued_at=datetime(2026, 1, 4, 12, 0, tzinfo=UTC)))
    screen = BillingScreen(fees, manager, None)
    qtbot.addWidget(screen)
    screen.show()
    qtbot.waitUntil(lambda: screen.invoice_model.rowCount() == 1, timeout=WAIT)
    assert screen.invoice_model.index(0, 1).data() == "4 Jan 2026"  # it was 04 Jan 2026
    screen.since.setDate(JAN_4)
    assert screen.since.text() == "4 Jan 2026"


def test_the_audit_log_writes_its_days_in_words(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    from pms_desktop.ui.admin.admin_screen import AdminScreen

    screen = AdminScreen(ctx, actors[Role.CLINIC_ADMIN])
    qtbot.addWidget(screen)
    screen.show()
    audit = screen.audit
    screen.tabs.setCurrentWidget(audit)
    qtbot.waitUntil(lambda: audit.model.rowCount() > 0, timeout=WAIT)
    entry = audit.model.rows[0]
    at = entry.at.astimezone(audit.model.zone)
    assert audit.model.index(0, 1).data() == f"{at.day} {at:%b %Y %H:%M:%S}"
    audit.date_from.setDate(JAN_4)
    assert audit.date_from.text() == "4 Jan 2026"  # it was 04 Jan 2026


def test_the_vitals_trend_writes_its_days_in_words(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    from tests.gui.test_chart import open_chart

    doc, pid = actors[Role.CLINICIAN], make_patient()
    ctx.clinical.record_vitals(doc, patient_id=pid, values={"heart_rate": "72"})
    panel = open_chart(qtbot, ctx, doc, pid)
    panel.show()
    panel.select_tab("vitals")
    chart = panel.vitals_tab.chart
    qtbot.waitUntil(lambda: chart.series != {}, timeout=WAIT)
    chart.picker.setCurrentIndex(chart.picker.findText("Heart", Qt.MatchFlag.MatchContains))
    chart.redraw()
    chart.canvas.draw()
    ticks = [t.get_text() for t in chart.figure.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"[1-9]\d? [A-Z][a-z]{2} \d{4}", t) for t in ticks), ticks


def test_the_sync_screens_write_their_days_in_words() -> None:
    from pms_desktop.ui.sync.conflict_format import local_time, relative

    at = "2026-01-04T10:30:00+00:00"
    assert local_time(at, "UTC") == "Sun 4 Jan 2026 10:30"  # it was Sun 04 Jan 2026 10:30
    assert local_time(at, "UTC", "%d %b %H:%M") == "4 Jan 10:30"  # a conflict's row
    then = datetime(2026, 1, 4, 10, 30, tzinfo=UTC)
    assert relative(then, datetime(2026, 1, 9, tzinfo=UTC)) == "4 Jan 2026"
