"""An empty table says why it is empty, once its screen has loaded: the waiting room before
anyone arrives, a practitioner's leave, a patient's results. Only a header reads as still
loading, or as broken."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QPainter

from pms_desktop.domain.enums import Role

pytestmark = pytest.mark.usefixtures("themed", "isolated_settings")
WAIT = 20_000



def _drawn(monkeypatch: Any, table: Any) -> list[str]:
    """The words the table draws over its rows' area."""
    drawn: list[str] = []
    real = QPainter.drawText

    def draw(painter, *args):  # type: ignore[no-untyped-def]
        drawn.extend(a for a in args if isinstance(a, str))
        return real(painter, *args)

    monkeypatch.setattr(QPainter, "drawText", draw)
    table.viewport().grab()
    monkeypatch.undo()
    return drawn


def test_the_empty_waiting_room_says_no_one_has_checked_in(qtbot, monkeypatch, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    from pms_desktop.ui.schedule.waiting_room import WaitingRoomPanel

    room = WaitingRoomPanel(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(room)
    with qtbot.waitSignal(room.refreshed, timeout=WAIT):
        room.show()
    assert room.model.rowCount() == 0
    assert "No one has checked in yet today." in _drawn(monkeypatch, room.table)


def test_an_empty_leave_list_says_none_is_booked(qtbot, monkeypatch, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    from pms_desktop.ui.admin.admin_screen import AdminScreen

    screen = AdminScreen(ctx, actors[Role.PRACTICE_MANAGER], None)
    qtbot.addWidget(screen)
    screen.resize(1100, 720)
    screen.show()
    tab = screen.schedule
    qtbot.waitUntil(lambda: tab.leave_table.placeholder() != "", timeout=WAIT)
    assert tab.leave_model.rowCount() == 0
    assert "No leave booked from today on." in _drawn(monkeypatch, tab.leave_table)


def test_a_chart_without_results_says_none_were_received(  # type: ignore[no-untyped-def]
        qtbot, monkeypatch, ctx, actors, make_patient) -> None:
    from tests.gui.test_chart import open_chart

    panel = open_chart(qtbot, ctx, actors[Role.CLINICIAN], make_patient())
    panel.show()
    panel.select_tab("results")
    table = panel.results_tab.report_table
    assert table.model().rowCount() == 0
    assert "No results received for this patient." in _drawn(monkeypatch, table)
