"""A day is written one way for reading on every screen: the banner and the patient file give
the same birth date ('Born 17 May 1980'), the booking dialog the same day as the book behind it
('Mon 23 Nov 2026')."""

from __future__ import annotations

import pytest

from pms_desktop.domain.enums import Role

pytestmark = pytest.mark.usefixtures("themed", "isolated_settings")
WAIT = 20_000



def test_the_banner_and_the_patient_file_write_the_birth_date_alike(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    from pms_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx, actors[Role.RECEPTION])
    qtbot.addWidget(window)
    window.show()
    window.open_patient(make_patient())  # born 17 May 1980
    qtbot.waitUntil(lambda: window.banner.data is not None, timeout=WAIT)
    person = window.patient_file.cards["person"]
    qtbot.waitUntil(lambda: "Born" in person.text(), timeout=WAIT)
    assert "Born 17 May 1980" in window.banner.facts.text()  # it was 17/05/1980
    assert "Born 17 May 1980 (" in person.text()  # it was 17 May 1980


def test_the_booking_dialog_writes_its_day_as_the_book_does(qtbot, reception_book) -> None:  # type: ignore[no-untyped-def]
    book = reception_book
    dialog = book.new_appointment()
    qtbot.addWidget(dialog)
    day = dialog.day.date().toPython()
    assert dialog.day.text() == f"{day:%a} {day.day} {day:%b %Y}"  # it was 'Sun 22/11/2026'
    assert dialog.day.displayFormat() == book.date_edit.displayFormat()
    dialog.reject()
