"""Search as you type: a keystroke searches at once; keys typed during a search are searched
together when it answers, and only results for the text in the box are shown."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QSettings

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
