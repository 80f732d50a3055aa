"""Reception on real widgets, real services and the real encrypted store.

Register a patient; the duplicate warning for a near-duplicate; search by each key; book from
the keyboard, move by drag, cancel; a double-book refused with the message shown; check-in
puts the patient in the waiting room.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from pms_desktop.domain.enums import Role
from pms_desktop.ui.patients.patient_edit_dialog import PatientEditDialog
from pms_desktop.ui.patients.patients_screen import PatientsScreen
from pms_desktop.ui.schedule.appointment_book import AppointmentBook
from pms_desktop.ui.schedule.booking_dialog import BookingDialog
from pms_desktop.ui.schedule.waiting_room import WaitingRoomPanel

DUBLIN = ZoneInfo("Europe/Dublin")

# Waits return as soon as the condition holds; the bound only matters on a loaded machine.
WAIT = 10_000



@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )


@pytest.fixture
def rita(actors):  # type: ignore[no-untyped-def]
    return actors[Role.RECEPTION]


def _type(qtbot, widget, text: str) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus()
    qtbot.keyClicks(widget, text)


def test_register_a_patient_marks_errors_and_keeps_what_was_typed(qtbot, ctx, rita):  # type: ignore[no-untyped-def]
    dialog = PatientEditDialog(ctx, rita, None)
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog.inputs["given"], "Aoife")
    _type(qtbot, dialog.inputs["family"], "Brennan")
    _type(qtbot, dialog.inputs["birth_date"], "31/02/1990")
    _type(qtbot, dialog.inputs["phone"], "not a number")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.field_error("birth_date") != "", timeout=WAIT)
    assert dialog.field_error("phone")
    assert (
        dialog.inputs["given"].text() == "Aoife" and dialog.inputs["phone"].text() == "not a number"
    )
    assert dialog.inputs["birth_date"].property("invalid") is True
    dialog.inputs["birth_date"].setText("")
    _type(qtbot, dialog.inputs["birth_date"], "3.2.1990")
    dialog.inputs["phone"].setText("")
    _type(qtbot, dialog.inputs["phone"], "086 555 1234")
    with qtbot.waitSignal(dialog.patient_saved, timeout=WAIT) as saved:
        dialog.save_button.click()
    detail = ctx.patients.get_patient(rita, patient_id=saved.args[0])
    assert (detail.draft.family, detail.birth_date) == ("Brennan", date(1990, 2, 3))


def test_duplicate_warning_offers_the_existing_record(qtbot, ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    existing = make_patient("Mary", "Murphy", date(1980, 5, 17))
    dialog = PatientEditDialog(ctx, rita, None)
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog.inputs["given"], "Marie")
    _type(qtbot, dialog.inputs["family"], "Murphey")
    with qtbot.waitSignal(dialog.duplicates_shown, timeout=WAIT, check_params_cb=lambda n: n == 1):
        _type(qtbot, dialog.inputs["birth_date"], "17051980")
    assert dialog.dup_panel.isVisible()
    button = dialog.dup_panel.findChild(type(dialog.save_button), "openInstead")
    with qtbot.waitSignal(dialog.open_instead, timeout=1000) as chosen:
        button.click()
    assert chosen.args == [existing]


@pytest.mark.parametrize(
    "query",
    [
        "murphy mary",
        "mary mur",
        "17/05/1980",
        "1980-05-17",
        "17.5.1980",
        "17051980",
        "087 123 4567",
        "MRN-42",
    ],
)
def test_search_box_finds_by_each_key_and_enter_opens(qtbot, ctx, rita, make_patient, query):  # type: ignore[no-untyped-def]
    target = make_patient("Mary", "Murphy", date(1980, 5, 17), phone="087 123 4567", mrn="MRN-42")
    make_patient("John", "Walsh", date(1970, 1, 1), phone="01 234 5678", mrn="MRN-43")
    screen = PatientsScreen(ctx, rita, None)
    qtbot.addWidget(screen)
    screen.show()
    with qtbot.waitSignal(screen.results_shown, timeout=WAIT):
        _type(qtbot, screen.search, query)
    assert [screen.model.patient(r).id for r in range(screen.model.rowCount())] == [target]
    with qtbot.waitSignal(screen.patient_chosen, timeout=1000) as chosen:
        qtbot.keyClick(screen.search, Qt.Key.Key_Return)
    assert chosen.args == [target]


def test_down_arrow_lists_recent_patients(qtbot, ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Ann", "Able"), make_patient("Bob", "Baker")
    ctx.patients.get_patient(rita, patient_id=a)
    ctx.patients.get_patient(rita, patient_id=b)
    screen = PatientsScreen(ctx, rita, None)
    qtbot.addWidget(screen)
    screen.show()
    with qtbot.waitSignal(screen.results_shown, timeout=WAIT):
        screen.search.setFocus()
        qtbot.keyClick(screen.search, Qt.Key.Key_Down)
    assert [screen.model.patient(r).id for r in range(screen.model.rowCount())] == [b, a]


# --- the appointment book -----------------------------------------------------------------


def _next_weekday() -> date:
    d = date.today() + timedelta(days=7)
    return d - timedelta(days=d.weekday())  # Monday next week: inside the clinic's hours


@pytest.fixture
def book(qtbot, ctx, rita):  # type: ignore[no-untyped-def]
    widget = AppointmentBook(ctx, rita, None)
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    qtbot.waitSignal(widget.view_loaded, timeout=WAIT).wait()
    with qtbot.waitSignal(widget.view_loaded, timeout=WAIT):
        widget.set_date(_next_weekday())
    return widget


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(_next_weekday(), datetime.min.time(), tzinfo=DUBLIN).replace(
        hour=hour, minute=minute
    )


def test_book_from_the_keyboard_in_a_slot(qtbot, ctx, rita, book, make_patient):  # type: ignore[no-untyped-def]
    pid = make_patient("Mary", "Murphy")
    prac = book.view.practitioners[0].id
    book.grid.select_slot(prac, _at(10))
    book.grid.setFocus()
    qtbot.keyClicks(book.grid, "m")  # typing opens the quick-book panel in that slot
    assert book.quick.isVisible()
    with qtbot.waitSignal(book.quick.results_shown, timeout=WAIT):
        qtbot.keyClicks(book.quick.line, "urphy")
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        qtbot.keyClick(book.quick.line, Qt.Key.Key_Return)
    booked = [a for a in book.view.appointments if a.patient_id == pid]
    assert [a.start_at for a in booked] == [_at(10)]


def test_drag_moves_and_cancel_needs_a_reason(qtbot, ctx, rita, book, make_patient):  # type: ignore[no-untyped-def]
    pid = make_patient("Mary", "Murphy")
    prac = book.view.practitioners[0].id
    appt = ctx.scheduling.book(rita, patient_id=pid, practitioner_id=prac, start_at=_at(10))
    qtbot.waitUntil(lambda: any(a.id == appt.id for a in book.view.appointments), timeout=WAIT)
    start = book.grid.appointment_rect(appt.id).center().toPoint()
    target = book.grid.slot_point(prac, _at(11)).toPoint()
    qtbot.mousePress(book.grid, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(book.grid, QPoint(start.x(), start.y() + 20))
    qtbot.mouseMove(book.grid, target)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        qtbot.mouseRelease(book.grid, Qt.MouseButton.LeftButton, pos=target)
    assert ctx.scheduling.appointment(rita, appointment_id=appt.id).start_at == _at(11)
    book.grid.select_appointment(appt.id)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.cancel_selected(reason="Patient rang to cancel")
    after = ctx.scheduling.appointment(rita, appointment_id=appt.id)
    assert (after.status, after.cancel_reason) == ("cancelled", "Patient rang to cancel")
    assert book.grid.appointment_rect(appt.id) is None  # cancelled ones leave the grid


def test_double_book_is_refused_with_the_message_shown(qtbot, ctx, rita, book, make_patient):  # type: ignore[no-untyped-def]
    first, second = make_patient("Mary", "Murphy"), make_patient("John", "Walsh")
    prac = book.view.practitioners[0].id
    ctx.scheduling.book(rita, patient_id=first, practitioner_id=prac, start_at=_at(9))
    qtbot.waitUntil(lambda: len(book.view.appointments) == 1, timeout=WAIT)
    book.grid.select_slot(prac, _at(9))
    dialog: BookingDialog = book.new_appointment(
        patient_id=second, practitioner_id=prac, start=_at(9)
    )
    qtbot.addWidget(dialog)
    dialog.book_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert "already booked with Mary Murphy from 09:00 to 09:15" in dialog.error.text()
    assert dialog.override.isVisible()
    assert len(ctx.scheduling.patient_appointments(rita, patient_id=second)) == 0
    _type(qtbot, dialog.override, "Urgent: seen between patients")
    with qtbot.waitSignal(dialog.booked, timeout=WAIT):
        dialog.book_button.click()
    [made] = ctx.scheduling.patient_appointments(rita, patient_id=second)
    assert made.overbook_reason == "Urgent: seen between patients"


def test_a_dragged_double_book_shows_the_refusal(qtbot, ctx, rita, book, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Mary", "Murphy"), make_patient("John", "Walsh")
    prac = book.view.practitioners[0].id
    ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=_at(9))
    moving = ctx.scheduling.book(rita, patient_id=b, practitioner_id=prac, start_at=_at(10))
    qtbot.waitUntil(lambda: len(book.view.appointments) == 2, timeout=WAIT)
    book.move_appointment(moving.id, prac, _at(9))
    qtbot.waitUntil(lambda: book.findChild(QMessageBox, "errorBox") is not None, timeout=WAIT)
    box = book.findChild(QMessageBox, "errorBox")
    assert "already booked" in box.text()
    box.close()
    assert ctx.scheduling.appointment(rita, appointment_id=moving.id).start_at == _at(10)


def test_check_in_with_one_key_moves_the_patient_to_the_waiting_room(
    qtbot, ctx, rita, make_patient
):  # type: ignore[no-untyped-def]
    from pms_desktop.ui.main_window import MainWindow

    pid = make_patient("Mary", "Murphy")
    prac = ctx.scheduling.practitioners(rita)[0].id
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    appt = ctx.scheduling.book(
        rita, patient_id=pid, practitioner_id=prac, start_at=now, override_reason="walk-in"
    )
    win = MainWindow(ctx, rita)
    qtbot.addWidget(win)
    win.show()
    book: AppointmentBook = win.screens["appointments"]
    room: WaitingRoomPanel = win.screens["waiting_room"]
    qtbot.waitUntil(
        lambda: book.view is not None and any(a.id == appt.id for a in book.view.appointments),
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: not room._loading, timeout=WAIT)
    assert room.model.rowCount() == 0
    book.grid.select_appointment(appt.id)
    with qtbot.waitSignal(room.refreshed, timeout=WAIT):
        qtbot.keyClick(book.grid, Qt.Key.Key_F5)
    assert [room.model.entry(r).patient_id for r in range(room.model.rowCount())] == [pid]
    assert ctx.scheduling.appointment(rita, appointment_id=appt.id).arrived_at is not None


def test_day_list_and_appointment_card_pdfs(qtbot, ctx, rita, book, make_patient, tmp_path):  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    pid = make_patient("Mary", "Murphy")
    prac = book.view.practitioners[0].id
    appt = ctx.scheduling.book(rita, patient_id=pid, practitioner_id=prac, start_at=_at(10))
    qtbot.waitUntil(lambda: any(a.id == appt.id for a in book.view.appointments), timeout=WAIT)
    with qtbot.waitSignal(book.action_done, timeout=5000):
        book.save_day_list(tmp_path / "day.pdf")
    text = PdfReader(tmp_path / "day.pdf").pages[0].extract_text()
    assert "MURPHY, Mary" in text and "10:00" in text and "Dr Siobhan Kelly" in text
    book.grid.select_appointment(appt.id)
    with qtbot.waitSignal(book.action_done, timeout=5000):
        book.save_card_selected(tmp_path / "card.pdf")
    card = PdfReader(tmp_path / "card.pdf").pages[0].extract_text()
    assert "Mary Murphy" in card and "10:00" in card
