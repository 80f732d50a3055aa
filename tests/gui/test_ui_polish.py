"""Details a person at the desk notices: whole labels, keys that reach the busy fields, and no
control offered that the role cannot use."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from pms_desktop.ui.billing.billing_format import Money
from pms_desktop.ui.billing.payment_dialog import PaymentDialog, RefundDialog
from pms_desktop.ui.theme import apply_theme


@pytest.fixture(autouse=True)
def _themed(qapp):  # type: ignore[no-untyped-def]
    apply_theme(qapp)  # the stylesheet decides the bold primary button and its width


def _bold_text_fits(button) -> bool:  # type: ignore[no-untyped-def]
    font = QFont(button.font())
    font.setWeight(QFont.Weight.DemiBold)
    # the stylesheet's padding is 14 px a side and its border 1 px
    return button.width() >= QFontMetrics(font).horizontalAdvance(button.text()) + 2 * 14 + 2


@pytest.mark.parametrize("make", [
    lambda: PaymentDialog(Money(), 9500, "INV-0001 · CLARKE, Louise"),
    lambda: RefundDialog(Money(), 2500),
])
def test_the_record_button_shows_its_whole_bold_label(qtbot, make):  # type: ignore[no-untyped-def]
    dialog = make()
    qtbot.addWidget(dialog)
    with qtbot.waitExposed(dialog):
        dialog.show()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert ok.text().startswith("Record")
    assert _bold_text_fits(ok)


def test_payment_fields_have_alt_keys(qtbot):  # type: ignore[no-untyped-def]
    dialog = PaymentDialog(Money(), 9500, "INV-0001")
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    for key, widget in ((Qt.Key.Key_E, dialog.reference), (Qt.Key.Key_A, dialog.amount),
                        (Qt.Key.Key_M, dialog.method)):
        qtbot.keyClick(dialog, key, Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is widget


@pytest.fixture
def _isolated_settings(tmp_path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )


@pytest.mark.usefixtures("_isolated_settings")
def test_the_appointment_book_fits_a_1366_screen_and_shows_the_whole_date(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from pms_desktop.domain.enums import Role
    from pms_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx, actors[Role.RECEPTION])
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    assert window.minimumSizeHint().width() <= 1366
    assert window.width() == 1366
    book = window.show_screen("appointments")
    edit = book.date_edit
    for day in ("2026-09-30", "2026-11-21"):  # the widest names of a day and a month
        from PySide6.QtCore import QDate

        edit.setDate(QDate.fromString(day, "yyyy-MM-dd"))
        assert edit.text().endswith("2026")
        assert edit.width() >= edit.fontMetrics().horizontalAdvance(edit.text()) + 40


def test_booking_tab_goes_field_by_field_and_alt_keys_reach_them(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from pms_desktop.domain.enums import Role
    from pms_desktop.ui.schedule.booking_dialog import BookingDialog

    dialog = BookingDialog(ctx, actors[Role.RECEPTION], practitioners=[], types=[],
                           timezone="Europe/Dublin")
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    dialog.patient_search.setFocus()
    order = [dialog.patient_search, dialog.patient_table, dialog.practitioner, dialog.day,
             dialog.time, dialog.next_free, dialog.type, dialog.duration, dialog.repeat]
    for here in order[:-1]:
        assert QApplication.focusWidget() is here
        for _section in range(6):  # a date or time steps through its parts before leaving
            qtbot.keyClick(here, Qt.Key.Key_Tab)  # the results table lets Tab leave it
            if QApplication.focusWidget() is not here:
                break
    assert QApplication.focusWidget() is order[-1]
    for key, widget in ((Qt.Key.Key_O, dialog.note), (Qt.Key.Key_H, dialog.day),
                        (Qt.Key.Key_P, dialog.patient_search), (Qt.Key.Key_T, dialog.type)):
        qtbot.keyClick(dialog, key, Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is widget


def test_account_actions_are_offered_only_for_a_chosen_account_they_apply_to(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from pms_desktop.domain.enums import Role
    from pms_desktop.ui.admin.users_tab import UsersTab

    admin, rita = actors[Role.CLINIC_ADMIN], actors[Role.RECEPTION]
    tab = UsersTab(ctx, admin)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=10_000)
    acting = ("role", "disable", "password", "mfa", "unlock")
    assert tab.buttons["add"].isEnabled()
    assert not any(tab.buttons[k].isEnabled() for k in acting)  # nothing chosen yet
    row = next(r for r in range(tab.model.rowCount()) if tab.model.user_at(r).id == rita.user_id)
    tab.table.selectRow(row)
    assert all(tab.buttons[k].isEnabled() for k in ("role", "disable", "password"))
    assert tab.buttons["disable"].text() == "Disable"
    assert not tab.buttons["unlock"].isEnabled()  # Rita is not locked out
    tab.buttons["disable"].click()
    qtbot.waitUntil(lambda: not tab.model.user_at(row).active, timeout=10_000)
    assert not tab.buttons["disable"].isEnabled()  # the list was read again: nothing chosen
    tab.table.selectRow(row)
    assert tab.buttons["disable"].text() == "Enable"


def test_registration_tab_follows_the_form_and_alt_keys_reach_the_busy_fields(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from pms_desktop.domain.enums import Role
    from pms_desktop.ui.patients.patient_edit_dialog import PatientEditDialog

    dialog = PatientEditDialog(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    f = dialog.inputs
    order = ["prefix", "given", "middle", "family", "preferred_name", "birth_date", "sex",
             "phone", "phone_home", "email", "address_line"]
    f[order[0]].setFocus()
    for here in order[:-1]:
        assert QApplication.focusWidget() is f[here], here
        qtbot.keyClick(f[here], Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is f[order[-1]]
    for key, name in ((Qt.Key.Key_D, "birth_date"), (Qt.Key.Key_S, "family"),
                      (Qt.Key.Key_M, "phone"), (Qt.Key.Key_F, "given"), (Qt.Key.Key_X, "sex")):
        qtbot.keyClick(dialog, key, Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is f[name], name


@pytest.mark.usefixtures("_isolated_settings")
def test_the_week_view_shows_one_practitioners_week_in_readable_columns(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from pms_desktop.domain.enums import Role
    from pms_desktop.store.models import Practitioner
    from pms_desktop.ui.schedule.appointment_book import AppointmentBook

    with ctx.db.sessions()() as s, s.begin():  # a second practitioner beside the clinic's first
        clinic_id = s.scalars(select(Practitioner.clinic_id)).first()
        s.add(Practitioner(clinic_id=clinic_id, prefix="Dr", given="Niamh", family="Walsh",
                           colour="#e0883a"))
    rita = actors[Role.RECEPTION]
    book = AppointmentBook(ctx, rita, None)
    qtbot.addWidget(book)
    book.resize(1366 - 210, 700)  # the book beside the navigation at 1366 pixels
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.show()
    day_view = {p.name: p.id for p in book.view.practitioners}
    assert len(day_view) == 2  # the day view keeps every practitioner
    walsh = day_view["Dr Niamh Walsh"]
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    book.set_date(monday)
    qtbot.waitUntil(lambda: book.view.first_day == monday, timeout=20_000)
    book.grid.select_slot(walsh, datetime.combine(monday, datetime.min.time(),
                                                  tzinfo=ZoneInfo("Europe/Dublin")).replace(hour=10))
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.week_button.click()
    # the week of the practitioner whose slot was selected: seven readable day columns
    assert [p.id for p in book.view.practitioners] == [walsh]
    assert book.practitioner_combo.isVisible()
    assert book.practitioner_combo.currentData() == walsh
    lay = book.grid.layout_
    assert len(lay.columns) == 7 and lay.col_width >= 120
    assert book.scroll.horizontalScrollBar().maximum() == 0  # the whole week without scrolling
    kelly = next(i for n, i in day_view.items() if i != walsh)
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.practitioner_combo.activated.emit(book.practitioner_combo.findData(kelly))
    assert [p.id for p in book.view.practitioners] == [kelly]
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.day_button.click()
    assert {p.id for p in book.view.practitioners} == set(day_view.values())
    assert not book.practitioner_combo.isVisible()


def test_patient_file_cards_start_at_the_top_of_their_boxes(qtbot, ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    from pms_desktop.domain.enums import Role
    from pms_desktop.ui.patients.patient_file import PatientFile

    pid = make_patient("Louise", "Clarke", mrn="RFP100121")
    panel = PatientFile(ctx, actors[Role.RECEPTION], pid, None)
    qtbot.addWidget(panel)
    panel.resize(1156, 720)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.show()
    ids, address = panel.cards["ids"], panel.cards["address"]
    assert "MRN RFP100121" in ids.text()
    # one identifier beside a four-line address: the boxes share a height, the MRN stays on top
    assert ids.height() == address.height()
    for label in panel.cards.values():
        assert label.alignment() & Qt.AlignmentFlag.AlignTop


@pytest.mark.usefixtures("_isolated_settings")
def test_every_screen_is_titled_as_its_navigation_entry(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    from pms_desktop.domain.enums import Role
    from pms_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx, actors[Role.PRACTICE_MANAGER])
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    keys = {"appointments": "Appointments", "waiting_room": "Waiting room", "patients": "Patients",
            "billing": "Billing", "reports": "Reports", "admin": "Administration"}
    for key, text in keys.items():
        screen = window.show_screen(key)
        assert screen is not None, key
        titles = [t for t in screen.findChildren(QLabel, "screenTitle") if t.isVisible()]
        assert [t.text() for t in titles] == [text], key
        # at the top of the screen, above everything else on it
        assert titles[0].mapTo(screen, titles[0].rect().topLeft()).y() < 24, key
    assert window.minimumSizeHint().width() <= 1366  # the titles widen no screen past 1366


@pytest.mark.usefixtures("_isolated_settings")
def test_new_appointment_from_a_practitioners_week_offers_every_practitioner(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from pms_desktop.domain.enums import Role
    from pms_desktop.store.models import Practitioner
    from pms_desktop.ui.schedule.appointment_book import AppointmentBook

    with ctx.db.sessions()() as s, s.begin():
        clinic_id = s.scalars(select(Practitioner.clinic_id)).first()
        s.add(Practitioner(clinic_id=clinic_id, prefix="Dr", given="Niamh", family="Walsh",
                           colour="#e0883a"))
    book = AppointmentBook(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(book)
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.show()
    walsh = next(p.id for p in book.view.practitioners if p.name == "Dr Niamh Walsh")
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.week_button.click()
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.set_week_practitioner(walsh)
    dialog = book.new_appointment()
    qtbot.addWidget(dialog)
    assert dialog.practitioner.count() == 2  # not only the practitioner whose week is shown
    assert dialog.practitioner.currentData() == walsh  # but theirs to begin with
    dialog.reject()
