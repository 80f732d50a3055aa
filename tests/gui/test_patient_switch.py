"""The main window shows the next patient in the same patient file and chart widgets.

Safety: nothing of the previous patient may ever show for the next one, on any tab (banner,
details, appointments, summary, timeline, notes, vitals and their trend, results, letters,
account), neither while the next patient loads nor after, nor when an answer asked for the
previous patient arrives late. And what was typed for the previous patient is saved for them.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabWidget,
    QWidget,
)
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.services.clinical_results import IncomingResult, insert_incoming_report
from pms_desktop.store.models import Practitioner
from pms_desktop.ui import ops
from pms_desktop.ui.main_window import MainWindow

WAIT = 10_000
# Everything that would betray the first patient, as shown somewhere in their file.
FIRST = ("Quartermaine", "Zebedee", "Ballyvaughan", "MRN-7781", "Penicillin",
         "Essential hypertension", "Ramipril", "Routine BP review", "Needle phobia",
         "Full blood count", "Haemoglobin", "Reviewed BP", "Unfinished draft",
         "Dr Referral Person", "In credit")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path):  # type: ignore[no-untyped-def]
    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )


def first_patient(ctx: Any, actors: Any, make_patient: Any) -> str:
    """A patient with something on every tab."""
    doc = actors[Role.CLINICIAN]
    pid = make_patient("Zebedee", "Quartermaine", mrn="MRN-7781", city="Ballyvaughan")
    c = ctx.clinical
    c.add_allergy(doc, patient_id=pid, substance="Penicillin", reaction="Hives",
                  severity="severe")
    c.add_problem(doc, patient_id=pid, display="Essential hypertension")
    c.add_medication(doc, patient_id=pid, name="Ramipril", dose="5 mg")
    c.record_vitals(doc, patient_id=pid, values={"systolic": "162", "diastolic": "98",
                                                 "heart_rate": "84"})
    note = c.create_draft(doc, patient_id=pid, subjective="Routine BP review.")
    c.sign_note(doc, note_id=note.id)
    ctx.patients.add_alert(doc, patient_id=pid, text="Needle phobia")
    insert_incoming_report(
        ctx.core, patient_id=pid, code="58410-2", display="Full blood count",
        issued_at=datetime.now(UTC) - timedelta(hours=3), performer="City Lab",
        results=[IncomingResult("718-7", "Haemoglobin", Decimal("10.9"), "g/dL", Decimal("12"),
                                Decimal("15.5"))])
    with ctx.db.sessions()() as s:
        prac = s.scalars(select(Practitioner.id)).first()
    monday = date.today() + timedelta(days=7)
    monday -= timedelta(days=monday.weekday())  # inside the clinic's hours
    ctx.scheduling.book(actors[Role.RECEPTION], patient_id=pid, practitioner_id=prac,
                        start_at=datetime.combine(monday, time(10), ZoneInfo("Europe/Dublin")),
                        note="Reviewed BP")
    ctx.payments.take_payment(actors[Role.RECEPTION], patient_id=pid, method="cash",
                              amount_minor=5000)
    return pid


def shown(root: QWidget) -> str:
    """Every text the widgets under ``root`` hold: labels, fields, buttons, tab titles, every
    cell (and tooltip) of every table, and the texts and data points of a drawn trend."""
    parts: list[str] = []
    for w in [root, *root.findChildren(QWidget)]:
        if isinstance(w, QLabel):
            parts.append(w.text())
        elif isinstance(w, QLineEdit):
            parts.append(w.text())
        elif isinstance(w, QPlainTextEdit):
            parts.append(w.toPlainText())
        elif isinstance(w, QAbstractButton):
            parts.append(w.text())
        elif isinstance(w, QTabWidget):
            parts += [w.tabText(i) for i in range(w.count())]
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            for r in range(m.rowCount()):
                for col in range(m.columnCount()):
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        parts.append(str(m.index(r, col).data(role) or ""))
        figure = getattr(w, "figure", None)
        if figure is not None:
            for ax in figure.axes:
                parts += [t.get_text() for t in ax.texts]
                parts += [f"points:{len(line.get_xdata())}" for line in ax.lines]
    return "\n".join(parts)


def leaks(window: MainWindow) -> list[str]:
    text = shown(window.patient_file) + shown(window.banner)
    text += window.patient_item.text()
    return [word for word in FIRST if word in text]


def window_for(qtbot: Any, ctx: Any, session: Any) -> MainWindow:
    window = MainWindow(ctx, session)
    qtbot.addWidget(window)
    window.resize(1360, 860)
    window.show()
    return window


def open_and_wait(qtbot: Any, window: MainWindow, pid: str, tab: str | None = None) -> None:
    window.open_patient(pid, tab=tab)
    qtbot.waitUntil(lambda: window.banner.data is not None
                    and window.banner.data.id == pid, timeout=WAIT)
    chart = window.patient_file.tabs.widget(window.patient_file.tab_keys.index("clinical"))
    if hasattr(chart, "summary"):
        qtbot.waitUntil(lambda: chart.summary is not None and not chart._loading, timeout=WAIT)
    ops.wait_for_idle()
    qtbot.wait(20)


def test_the_next_patient_shows_nothing_of_the_previous_one_on_any_tab(
    qtbot, ctx, actors, make_patient
):  # type: ignore[no-untyped-def]
    doc = actors[Role.CLINICIAN]
    first = first_patient(ctx, actors, make_patient)
    second = make_patient("Brid", "Nolan", phone=None)
    window = window_for(qtbot, ctx, doc)
    open_and_wait(qtbot, window, first, tab="clinical")
    pf = window.patient_file
    chart = pf.tabs.widget(pf.tab_keys.index("clinical"))
    # Every tab of the first patient looked at, and things typed that were not saved.
    chart.select_tab("vitals")
    qtbot.waitUntil(lambda: chart.vitals_tab.chart.plotted_codes() != [], timeout=WAIT)
    qtbot.keyClicks(chart.vitals_tab.inputs["heart_rate"], "400")
    qtbot.mouseClick(chart.vitals_tab.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chart.vitals_tab.errors["heart_rate"].isVisibleTo(chart), timeout=WAIT)
    chart.select_tab("results")
    chart.select_tab("letters")
    chart.letters_tab.set_values({"recipient_name": "Dr Referral Person"})
    chart.letters_tab.fill_from_chart()
    qtbot.waitUntil(lambda: "Penicillin" in chart.letters_tab.values()["allergies"], timeout=WAIT)
    chart.timeline_tab.set_kind("vitals")
    chart.select_tab("note")
    chart.note_editor.autosave_ms = 60_000  # typed, not yet saved when the next one opens
    chart.note_editor.new_note()
    qtbot.keyClicks(chart.note_editor.fields["plan"], "Unfinished draft")
    for key in pf.tab_keys:
        pf.show_tab(key)
    found_first = [w for w in FIRST if w in shown(pf) + shown(window.banner)]
    assert set(found_first) >= {"Quartermaine", "Penicillin", "Ramipril", "Routine BP review",
                                "Needle phobia", "Haemoglobin", "Ballyvaughan", "Reviewed BP",
                                "Dr Referral Person", "Unfinished draft"}

    window.open_patient(second, tab="clinical")
    assert window.patient_file is pf  # the same widgets, shown for the next patient
    assert leaks(window) == []  # not even while the next patient loads
    open_and_wait(qtbot, window, second, tab="clinical")
    assert leaks(window) == []
    for key in pf.tab_keys:  # and on every tab, once looked at
        pf.show_tab(key)
        for tab in ("timeline", "note", "vitals", "results", "letters"):
            chart.select_tab(tab)
            qtbot.wait(5)
            assert leaks(window) == [], (key, tab)
    assert "Nolan" in window.banner.name.text() and "No allergies recorded" in (
        chart.summary_column.allergies.text())
    assert chart.timeline_tab.proxy.kind == ""  # the filter is not carried over either
    # Nor the marks and messages of a form filled for the previous patient.
    assert chart.vitals_tab.errors["heart_rate"].isHidden()
    assert chart.vitals_tab.status.text() == "" and chart.letters_tab.status.text() == ""
    # What was typed for the first patient was saved for them, not for the second.
    qtbot.waitUntil(lambda: any(n.plan == "Unfinished draft"
                                for n in ctx.clinical.list_notes(doc, patient_id=first)),
                    timeout=WAIT)
    assert ctx.clinical.list_notes(doc, patient_id=second) == []


def test_answers_for_the_previous_patient_arriving_late_are_dropped(
    qtbot, ctx, actors, make_patient
):  # type: ignore[no-untyped-def]
    doc = actors[Role.CLINICIAN]
    first = first_patient(ctx, actors, make_patient)
    second = make_patient("Brid", "Nolan", phone=None)
    third = make_patient("Cian", "Walsh", phone=None)
    window = window_for(qtbot, ctx, doc)
    open_and_wait(qtbot, window, third, tab="clinical")
    banners: list[Any] = []
    window.patient_file.banner_loaded.connect(banners.append)
    gate = threading.Event()
    ops.run_op(None, lambda: gate.wait(WAIT / 1000))  # the worker is busy: answers queue up
    window.open_patient(first, tab="clinical")  # its loads are asked for, not yet answered
    window.open_patient(second, tab="clinical")
    seen: list[list[str]] = []
    chart = window.patient_file.tabs.widget(window.patient_file.tab_keys.index("clinical"))
    chart.loaded.connect(lambda: seen.append(leaks(window)))
    window.patient_file.loaded.connect(lambda: seen.append(leaks(window)))
    gate.set()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=WAIT)
    ops.wait_for_idle()
    qtbot.wait(50)
    assert seen == [[], []] and leaks(window) == []
    assert [b.id for b in banners] == [second]  # the first patient's answer was dropped
    assert window.banner.data.id == second


def test_a_grant_to_break_the_glass_is_not_carried_to_the_next_patient(
    qtbot, ctx, actors, make_patient, monkeypatch
):  # type: ignore[no-untyped-def]
    desk = actors[Role.RECEPTION]
    first = first_patient(ctx, actors, make_patient)
    second = make_patient("Brid", "Nolan", phone=None)
    window = window_for(qtbot, ctx, desk)
    open_and_wait(qtbot, window, first, tab="clinical")
    pf = window.patient_file
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Ambulance asks", True))
    glass = pf.tabs.widget(pf.tab_keys.index("clinical"))
    glass.findChild(QAbstractButton).click()
    qtbot.waitUntil(lambda: hasattr(pf.tabs.widget(pf.tab_keys.index("clinical")), "summary"),
                    timeout=WAIT)
    chart = pf.tabs.widget(pf.tab_keys.index("clinical"))
    qtbot.waitUntil(lambda: chart.summary is not None, timeout=WAIT)
    assert "Penicillin" in chart.summary_column.allergies.text()
    pf.show_tab("account")
    qtbot.waitUntil(lambda: "In credit" in shown(pf), timeout=WAIT)

    open_and_wait(qtbot, window, second)
    assert window.patient_file is pf
    page = pf.tabs.widget(pf.tab_keys.index("clinical"))
    assert not hasattr(page, "summary")  # the break-glass page again, not a chart
    assert page.findChild(QAbstractButton).text() == "Break glass…"
    for key in pf.tab_keys:
        pf.show_tab(key)
        assert leaks(window) == [], key
    qtbot.waitUntil(lambda: "Account settled" in shown(pf), timeout=WAIT)


def test_the_trend_is_drawn_when_the_vitals_tab_is_opened(
    qtbot, ctx, actors, make_patient
):  # type: ignore[no-untyped-def]
    doc = actors[Role.CLINICIAN]
    first = first_patient(ctx, actors, make_patient)
    second = make_patient("Brid", "Nolan", phone=None)
    window = window_for(qtbot, ctx, doc)
    open_and_wait(qtbot, window, first, tab="clinical")
    chart = window.patient_file.tabs.widget(window.patient_file.tab_keys.index("clinical"))
    trend = chart.vitals_tab.chart
    assert trend.stale and trend.figure.axes == []  # hidden: not drawn yet
    chart.select_tab("vitals")
    assert not trend.stale
    assert "points:1" in shown(trend)  # systolic and diastolic of the one visit
    assert trend.plotted_codes() == ["8480-6", "8462-4"]
    # Another patient while the tab is shown: their (empty) trend, at once.
    open_and_wait(qtbot, window, second, tab="clinical")
    chart.select_tab("vitals")
    assert "points:" not in shown(trend) and "No measurements yet" in shown(trend)
