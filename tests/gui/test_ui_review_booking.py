"""New appointment… with no slot chosen begins on the day the book shows, on the slot grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QTime

from pms_desktop.domain.enums import Role
from pms_desktop.services.scheduling_dto import ClinicHours
from pms_desktop.ui.schedule.book_layout import booking_start, card_title

WAIT = 20_000
DUBLIN = ZoneInfo("Europe/Dublin")
pytestmark = pytest.mark.usefixtures("isolated_settings")
HOURS = ClinicHours("Europe/Dublin", time(8), time(18), 15)



@pytest.fixture
def book(reception_book):  # type: ignore[no-untyped-def]
    return reception_book


def test_new_appointment_begins_on_the_later_day_the_book_shows(qtbot, book):  # type: ignore[no-untyped-def]
    shown = datetime.now(ZoneInfo(book.view.hours.timezone)).date() + timedelta(days=3)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_date(shown)
    assert book.grid.selected_slot is None
    dialog = book.new_appointment()
    qtbot.addWidget(dialog)
    assert dialog.day.date() == QDate(shown.year, shown.month, shown.day)  # not today
    opening = book.view.hours.day_start
    assert dialog.time.time() == QTime(opening.hour, opening.minute)
    dialog.reject()


def test_new_appointment_today_begins_at_a_slot_still_to_come(qtbot, book):  # type: ignore[no-untyped-def]
    hours = book.view.hours
    before = datetime.now(ZoneInfo(hours.timezone)).replace(second=0, microsecond=0)
    dialog = book.new_appointment()
    qtbot.addWidget(dialog)
    d, t = dialog.day.date(), dialog.time.time()
    begins = datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(),
                      tzinfo=ZoneInfo(hours.timezone))
    opening = datetime.combine(before.date(), hours.day_start, tzinfo=begins.tzinfo)
    assert before <= begins <= max(before + timedelta(minutes=hours.slot_minutes), opening)
    assert (t.hour() * 60 + t.minute()) % hours.slot_minutes == 0
    dialog.reject()


@pytest.mark.parametrize(("shown", "now", "begins"), [
    # Sunday 01:12 with Monday shown: Monday's opening
    (date(2026, 11, 23), datetime(2026, 11, 22, 1, 12, tzinfo=DUBLIN), datetime(2026, 11, 23, 8)),
    # today before opening: the opening
    (date(2026, 11, 23), datetime(2026, 11, 23, 1, 12, tzinfo=DUBLIN), datetime(2026, 11, 23, 8)),
    # today during the day: the next slot, never a past one
    (date(2026, 11, 23), datetime(2026, 11, 23, 10, 7, tzinfo=DUBLIN),
     datetime(2026, 11, 23, 10, 15)),
    (date(2026, 11, 23), datetime(2026, 11, 23, 10, 15, 30, tzinfo=DUBLIN),
     datetime(2026, 11, 23, 10, 30)),
    (date(2026, 11, 23), datetime(2026, 11, 23, 10, 15, tzinfo=DUBLIN),
     datetime(2026, 11, 23, 10, 15)),
    # a past day shown: today's next slot (the clock in UTC, the clinic in Dublin)
    (date(2026, 11, 20), datetime(2026, 11, 23, 10, 50, tzinfo=UTC),
     datetime(2026, 11, 23, 11)),
])
def test_booking_start(shown, now, begins) -> None:  # type: ignore[no-untyped-def]
    assert booking_start(shown, HOURS, now) == begins.replace(tzinfo=DUBLIN)


def _card_lines(monkeypatch, grid) -> list[str]:  # type: ignore[no-untyped-def]
    """The text the book's grid draws (its cards' lines among them, without the mark of a
    booking made outside the hours)."""
    from PySide6.QtGui import QPainter

    drawn: list[str] = []
    real = QPainter.drawText

    def draw(painter, *args):  # type: ignore[no-untyped-def]
        drawn.extend(a.removeprefix("⧉ ") for a in args if isinstance(a, str))
        return real(painter, *args)

    monkeypatch.setattr(QPainter, "drawText", draw)
    grid.grab()
    monkeypatch.undo()
    return drawn


def test_a_narrow_column_shows_the_patients_surname_not_the_time(  # type: ignore[no-untyped-def]
        qtbot, monkeypatch, ctx, actors, make_patient, book):
    # Ten practitioners on a laptop, or a week on a small screen: ~120 px a column. It showed
    # '10:00  FARR…'; the axis already says when.
    desk = actors[Role.RECEPTION]
    pid = make_patient("Aoife", "Farrell")
    prac = ctx.scheduling.practitioners(desk)[0].id
    day = datetime.now(DUBLIN).date() + timedelta(days=7)
    ctx.scheduling.book(desk, patient_id=pid, practitioner_id=prac, duration_minutes=15,
                        start_at=datetime.combine(day, time(10), DUBLIN), override_reason="t")
    book.set_columns([prac])
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_date(day)
    assert [a.patient_id for a in book.view.appointments] == [pid]
    book.resize(1800, 700)
    qtbot.waitUntil(lambda: book.grid.layout_ is not None, timeout=WAIT)
    assert "10:00  FARRELL, Aoife" in _card_lines(monkeypatch, book.grid)  # room for it all
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_days(7)  # seven columns in the book at its narrowest (a 1280 screen)
    book.resize(book.minimumSizeHint().width(), 700)
    qtbot.waitUntil(lambda: book.grid.width() < 1000, timeout=WAIT)
    lines = _card_lines(monkeypatch, book.grid)
    assert any(line.startswith("FARRELL, A") and "…" not in line for line in lines), lines


@pytest.mark.parametrize(("room", "shown"), [
    (40, "10:00  FARRELL, Aoife"),  # a wide column: all of it
    (19, "10:00  FARRELL, A."),
    (18, "FARRELL, Aoife"),  # too narrow for the time beside a usual name: no card has it
    (12, "FARRELL, A."),
    (5, "FARRELL, A."),  # the painter ends it with '…'
])
def test_card_title(room: int, shown: str) -> None:
    from pms_desktop.services.scheduling_dto import AppointmentInfo

    at = datetime(2026, 11, 23, 10, tzinfo=DUBLIN)
    a = AppointmentInfo("a", "p", "FARRELL, Aoife", None, "d", "Dr X", None, "Appointment",
                        "#9aa7b4", at, at + timedelta(minutes=15), "booked",
                        patient_given="Aoife", patient_family="Farrell")
    assert card_title(a, at, lambda text: len(text) <= room) == shown
