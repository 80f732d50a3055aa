"""Search as you type: a keystroke searches at once; keys typed during a search are searched
together when it answers, and only results for the text in the box are shown."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QSettings, Qt

from pms_desktop.domain.enums import Role
from pms_desktop.ui import ops
from pms_desktop.ui.patients.patients_screen import PatientsScreen

WAIT = 10_000


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path):  # type: ignore[no-untyped-def]
    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )


@pytest.fixture
def screen(qtbot, ctx, actors, monkeypatch):  # type: ignore[no-untyped-def]
    """The screen with its searches recorded; a search waits while ``gate`` is clear."""
    real = ctx.patients.search
    calls: list[str] = []
    gate = threading.Event()
    gate.set()

    def search(who, text):  # type: ignore[no-untyped-def]
        calls.append(text)
        assert gate.wait(WAIT / 1000)
        return real(who, text)

    monkeypatch.setattr(ctx.patients, "search", search)
    widget = PatientsScreen(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(widget)
    widget.show()
    widget.search.setFocus()
    yield widget, calls, gate
    gate.set()
    ops.wait_for_idle()


def test_a_keystroke_searches_at_once(qtbot, screen, make_patient):  # type: ignore[no-untyped-def]
    widget, calls, _gate = screen
    make_patient("Mary", "Murphy")
    qtbot.keyClick(widget.search, "m")
    ops.wait_for_idle()  # no event loop ran: no timer could have fired
    assert calls == ["m"]


def test_keys_typed_during_a_search_are_searched_together_and_stale_answers_dropped(
    qtbot, screen, make_patient
):  # type: ignore[no-untyped-def]
    widget, calls, gate = screen
    murphy = make_patient("Mary", "Murphy")
    make_patient("Mark", "Moran")
    shown: list[str] = []
    widget.results_shown.connect(shown.append)
    gate.clear()  # the first search hangs until the rest is typed
    qtbot.keyClick(widget.search, "m")
    qtbot.keyClicks(widget.search, "ary mur")
    gate.set()
    qtbot.waitUntil(lambda: shown == ["mary mur"], timeout=WAIT)
    assert calls == ["m", "mary mur"]
    assert [widget.model.patient(r).id for r in range(widget.model.rowCount())] == [murphy]


@pytest.fixture
def quick(qtbot, ctx, actors, monkeypatch):  # type: ignore[no-untyped-def]
    """The appointment book's quick-book panel, its searches recorded and gated as above."""
    from PySide6.QtWidgets import QWidget

    from pms_desktop.ui.schedule.quick_book_popup import QuickBookPopup

    real = ctx.patients.search
    calls: list[str] = []
    gate = threading.Event()
    gate.set()

    def search(who, text, limit=50):  # type: ignore[no-untyped-def]
        calls.append(text)
        assert gate.wait(WAIT / 1000)
        return real(who, text, limit=limit)

    monkeypatch.setattr(ctx.patients, "search", search)
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(600, 500)
    host.show()
    popup = QuickBookPopup(ctx, actors[Role.RECEPTION], host)
    popup.start("Monday 10:00", "")
    yield popup, calls, gate
    gate.set()
    ops.wait_for_idle()


def test_quick_book_searches_like_the_patients_screen(qtbot, quick, make_patient):  # type: ignore[no-untyped-def]
    popup, calls, gate = quick
    murphy = make_patient("Mary", "Murphy")
    make_patient("Mark", "Moran")
    qtbot.keyClick(popup.line, "m")
    ops.wait_for_idle()  # no event loop ran: no pause-in-typing timer could have fired
    assert calls == ["m"]
    qtbot.waitUntil(lambda: popup.model.rowCount() == 2, timeout=WAIT)

    picked: list[str] = []
    popup.patient_picked.connect(picked.append)
    gate.clear()  # this search hangs until the rest is typed, and Enter pressed
    qtbot.keyClicks(popup.line, "ary")
    qtbot.keyClicks(popup.line, " mur")
    qtbot.keyClick(popup.line, Qt.Key.Key_Return)
    assert picked == [] and popup.model.rowCount() == 2  # the stale list still shown, unused
    gate.set()
    qtbot.waitUntil(lambda: picked == [murphy], timeout=WAIT)
    assert calls == ["m", "ma", "mary mur"]  # keys typed during a search: searched together


def test_the_patient_picker_searches_at_once_and_enter_before_the_answer_chooses(
    qtbot, ctx, actors, make_patient, monkeypatch
):  # type: ignore[no-untyped-def]
    from pms_desktop.ui.patients.patient_picker import PatientPickerDialog

    pid = make_patient("Sorcha", "Ní Bhriain")
    real = ctx.patients.search
    calls: list[str] = []
    gate = threading.Event()

    def search(who, text, limit=30):  # type: ignore[no-untyped-def]
        calls.append(text)
        assert gate.wait(WAIT / 1000)
        return real(who, text, limit=limit)

    monkeypatch.setattr(ctx.patients, "search", search)
    picker = PatientPickerDialog(ctx, actors[Role.RECEPTION], "New invoice")
    qtbot.addWidget(picker)
    picker.show()
    qtbot.keyClicks(picker.search, "so")
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)  # typed on before the answer came
    try:  # searched at once, no pause-in-typing timer ("s" alone is too short to search)
        qtbot.waitUntil(lambda: calls == ["so"], timeout=WAIT)
        assert picker.isVisible() and picker.chosen is None
    finally:
        gate.set()
    qtbot.waitUntil(lambda: picker.result() == picker.DialogCode.Accepted, timeout=WAIT)
    assert picker.chosen is not None and picker.chosen.id == pid
    ops.wait_for_idle()
