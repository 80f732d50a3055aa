"""Administration › Hours & leave and › Appointment types, driven through the real widgets by a
practice manager, with the appointment book open beside them (it must follow every change)."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QTime

from pms_desktop.domain.enums import Role
from pms_desktop.ui.admin.admin_screen import AdminScreen
from pms_desktop.ui.schedule.appointment_book import AppointmentBook

pytestmark = pytest.mark.usefixtures("themed")

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 10_000
DUBLIN = ZoneInfo("Europe/Dublin")


def next_monday() -> date:
    today = datetime.now(DUBLIN).date()
    return today + timedelta(days=7 - today.weekday())


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), DUBLIN)


@pytest.fixture
def screen(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    messages: list[str] = []

    class Window:  # what the screen needs of the main window: its status bar
        def show_status(self, text: str) -> None:
            messages.append(text)

    widget = AdminScreen(ctx, actors[Role.PRACTICE_MANAGER], Window())
    widget.messages = messages  # type: ignore[attr-defined]
    qtbot.addWidget(widget)
    widget.resize(1100, 720)
    widget.show()
    return widget


def test_a_practice_manager_sees_only_the_schedule_tabs(screen) -> None:  # type: ignore[no-untyped-def]
    titles = [screen.tabs.tabText(i) for i in range(screen.tabs.count())]
    assert titles == ["Hours && leave", "Appointment types"]
    assert screen.users is None and screen.audit is None


def test_weekly_hours_with_a_lunch_break_reach_the_appointment_book(qtbot, ctx, actors,  # type: ignore[no-untyped-def]
                                                                    screen) -> None:
    tab = screen.schedule
    qtbot.waitUntil(lambda: tab.current is not None and tab.hours_box.isEnabled(), timeout=WAIT)
    assert "No hours set" in tab.hours_note.text()
    book = AppointmentBook(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(book)
    qtbot.waitSignal(book.view_loaded, timeout=WAIT).wait()
    monday = next_monday()
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_date(monday)
    assert not book.view.unavailable

    mon = tab.editor.days[0]
    mon.add.click()
    mon.add.click()
    morning, afternoon = mon.sessions
    morning.start.setTime(QTime(9, 0))
    morning.end.setTime(QTime(12, 30))
    afternoon.start.setTime(QTime(12, 0))  # overlaps the morning
    afternoon.end.setTime(QTime(17, 0))
    tab.save_hours_button.click()
    qtbot.waitUntil(lambda: mon.error.isVisible(), timeout=WAIT)
    assert "Overlaps the session 09:00–12:30" in mon.error.text()
    assert afternoon.start.property("invalid") and not morning.start.property("invalid")
    assert afternoon.start.time() == QTime(12, 0)  # what was typed is kept
    assert not ctx.scheduling.working_hours(actors[Role.RECEPTION], practitioner_id=tab.current.id)
    screen.grab().save(str(_shot("admin-hours-error.png")))

    afternoon.start.setTime(QTime(13, 30))
    tab.copy_button.click()
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):  # the book reloads by itself
        tab.save_hours_button.click()
    qtbot.waitUntil(lambda: any("saved" in m for m in screen.messages), timeout=WAIT)
    assert not mon.error.isVisible() and not tab.editor.dirty
    hours = ctx.scheduling.working_hours(actors[Role.RECEPTION], practitioner_id=tab.current.id)
    assert {(h.weekday, h.start_time, h.end_time) for h in hours} == {
        (d, s, e) for d in range(5) for s, e in ((time(9), time(12, 30)), (time(13, 30), time(17)))}
    gaps = {(u.start_at, u.end_at) for u in book.view.unavailable if u.reason == "Not working"}
    assert (local(monday, 12, 30), local(monday, 13, 30)) in gaps
    free = ctx.scheduling.next_free_slot(actors[Role.RECEPTION], practitioner_id=tab.current.id,
                                         after=local(monday, 12, 40), duration_minutes=15)
    assert free == local(monday, 13, 30)
    screen.grab().save(str(_shot("admin-hours.png")))


def test_leave_refused_when_it_ends_first_then_recorded_shown_and_removed(qtbot, ctx, actors,  # type: ignore[no-untyped-def]
                                                                          screen) -> None:
    tab = screen.schedule
    qtbot.waitUntil(lambda: tab.current is not None and tab.leave_box.isEnabled(), timeout=WAIT)
    book = AppointmentBook(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(book)
    qtbot.waitSignal(book.view_loaded, timeout=WAIT).wait()
    monday = next_monday()
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_date(monday + timedelta(days=1))

    tab.add_leave_button.click()
    dialog = tab.leave_dialog
    dialog.from_date.setDate(QDate(monday.year, monday.month, monday.day).addDays(2))
    dialog.to_date.setDate(QDate(monday.year, monday.month, monday.day))  # before the first day
    dialog.reason.setText("Conference in Galway")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(dialog.error.text()), timeout=WAIT)
    assert "end after it starts" in dialog.error.text()
    assert dialog.to_date.property("invalid") and not dialog.from_date.property("invalid")
    assert dialog.isVisible() and dialog.reason.text() == "Conference in Galway"
    dialog.grab().save(str(_shot("admin-leave-error.png")))

    dialog.to_date.setDate(dialog.from_date.date().addDays(1))  # Wednesday and Thursday
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: tab.leave_model.rowCount() == 1, timeout=WAIT)
    wed, thu = monday + timedelta(days=2), monday + timedelta(days=3)
    assert tab.leave_model.span_text(tab.leave_model.item(0)) == (
        f"{wed:%a} {wed.day} {wed:%b %Y}", f"{thu:%a} {thu.day} {thu:%b %Y}")
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_date(monday + timedelta(days=2))
    assert [u.reason for u in book.view.unavailable] == ["Conference in Galway"]
    screen.grab().save(str(_shot("admin-leave.png")))

    assert not tab.remove_leave_button.isEnabled()  # nothing chosen to remove yet
    tab.leave_table.selectRow(0)
    assert tab.remove_leave_button.isEnabled()
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        tab.remove_leave_button.click()
    qtbot.waitUntil(lambda: tab.leave_model.rowCount() == 0, timeout=WAIT)
    assert book.view.unavailable == ()


def test_appointment_types_added_edited_retired_and_offered_by_the_book(qtbot, ctx, actors,  # type: ignore[no-untyped-def]
                                                                        screen) -> None:
    tab = screen.types
    screen.tabs.setCurrentWidget(tab)
    book = AppointmentBook(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(book)
    qtbot.waitSignal(book.view_loaded, timeout=WAIT).wait()
    before = len(ctx.scheduling.appointment_types(actors[Role.RECEPTION]))
    qtbot.waitUntil(lambda: tab.model.rowCount() == before, timeout=WAIT)

    tab.add_button.click()
    dialog = tab.dialog
    dialog.duration.setValue(25)
    dialog.save_button.click()  # no name
    qtbot.waitUntil(lambda: bool(dialog.error.text()), timeout=WAIT)
    assert dialog.name.property("invalid") and dialog.duration.value() == 25
    dialog.name.setText("Travel vaccines")
    dialog.colour.setCurrentIndex(dialog.colour.findData("#a9dfbf"))
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: tab.model.rowCount() == before + 1, timeout=WAIT)
    offered = [book.type_combo.itemText(i) for i in range(book.type_combo.count())]
    assert "Travel vaccines · 25 min" in offered

    tab.table.selectRow(tab.model.row_of(next(t.id for t in tab.model.items
                                              if t.name == "Travel vaccines")))
    tab.edit_button.click()
    dialog = tab.dialog
    assert dialog.name.text() == "Travel vaccines"
    dialog.duration.setValue(30)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: any(t.duration_minutes == 30 for t in tab.model.items
                                if t.name == "Travel vaccines"), timeout=WAIT)
    assert book.type_combo.findText("Travel vaccines · 30 min") >= 0
    screen.grab().save(str(_shot("admin-appointment-types.png")))

    assert tab.retire_button.text() == "Retire"
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        tab.retire_button.click()
    qtbot.waitUntil(lambda: tab.model.rowCount() == before, timeout=WAIT)
    assert book.type_combo.findText("Travel vaccines · 30 min") < 0
    tab.show_retired.setChecked(True)
    row = tab.model.row_of(next(t.id for t in tab.all_types if t.name == "Travel vaccines"))
    assert tab.model.index(row, 2).data() == "Retired"
    tab.table.selectRow(row)
    assert tab.retire_button.text() == "Reinstate"
    tab.retire_button.click()
    qtbot.waitUntil(lambda: all(t.active for t in tab.all_types if t.name == "Travel vaccines"),
                    timeout=WAIT)


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name


def test_hours_and_types_pulled_from_another_workstation_are_shown(qtbot, ctx, actors,  # type: ignore[no-untyped-def]
                                                                   screen) -> None:
    tab, types = screen.schedule, screen.types
    qtbot.waitUntil(lambda: tab.current is not None and tab.hours_box.isEnabled(), timeout=WAIT)
    manager = actors[Role.PRACTICE_MANAGER]
    # As a pull would write them (the service's own "schedule.changed" is not what the tab
    # listens to): then the sync's fact.
    ctx.scheduling.set_week_hours(manager, practitioner_id=tab.current.id,
                                  week={2: [(time(10), time(14))]})
    ctx.scheduling.add_appointment_type(manager, name="Smear test", duration_minutes=20)
    ctx.core.notify("sync.pulled", pulled=2, conflicts=0)
    wed = tab.editor.days[2]
    qtbot.waitUntil(lambda: wed.spans() == [(time(10), time(14))], timeout=WAIT)
    qtbot.waitUntil(lambda: any(t.name == "Smear test" for t in types.model.items), timeout=WAIT)
