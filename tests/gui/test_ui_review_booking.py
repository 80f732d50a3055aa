"""New appointment… with no slot chosen begins on the day the book shows, on the slot grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QSettings, QTime

from pms_desktop.domain.enums import Role
from pms_desktop.services.scheduling_dto import ClinicHours
from pms_desktop.ui.schedule.appointment_book import AppointmentBook
from pms_desktop.ui.schedule.book_layout import booking_start

WAIT = 20_000
DUBLIN = ZoneInfo("Europe/Dublin")
HOURS = ClinicHours("Europe/Dublin", time(8), time(18), 15)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path):  # type: ignore[no-untyped-def]
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "settings"))


@pytest.fixture
def book(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    book = AppointmentBook(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(book)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.show()
    return book


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
