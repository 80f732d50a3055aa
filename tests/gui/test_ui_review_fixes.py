"""Fixes from the last UI review, each as the person at the desk meets it: the staff-account
dialog saves like the other dialogs, the banner separates every fact, a book whose chosen
practitioners all left shows those still working, and a password reset reaches a screen whose
own error handling shows nothing."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from sqlalchemy import select, update

from pms_desktop.domain.enums import Role
from pms_desktop.security.totp import current_code
from pms_desktop.store.models import PatientIdentifier, Practitioner
from pms_desktop.ui.admin.user_edit_dialog import UserEditDialog
from pms_desktop.ui.admin.users_tab import UsersTab
from pms_desktop.ui.auth.change_password_dialog import ChangePasswordDialog
from pms_desktop.ui.auth.session_controller import SessionController
from pms_desktop.ui.ops import wait_for_idle
from pms_desktop.ui.patients.patient_file import PatientFile
from pms_desktop.ui.schedule.appointment_book import AppointmentBook, keep_retired
from pms_desktop.ui.widgets.patient_banner import PatientBanner
from pms_desktop.ui.widgets.settings import app_settings
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.gui.session_support import NewWidgets, dispose

pytestmark = pytest.mark.usefixtures("themed")

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 10_000
FIRST = "Admin-Chose-This-1"  # the password the admin gives


def shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / name))


def settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Let queued work run and its answers reach the GUI thread."""
    for _ in range(3):
        wait_for_idle()
        qtbot.wait(50)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path) -> None:
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "settings"))


# --- 1. the staff-account dialog ------------------------------------------------------------


def test_adding_a_staff_member_marks_refused_fields_keeps_the_text_and_saves_once(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    tab = UsersTab(ctx, actors[Role.CLINIC_ADMIN])
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=WAIT)
    tab.buttons["add"].click()
    dialog = tab.findChild(UserEditDialog)
    assert dialog is not None and dialog.isVisible()
    save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
    dialog.display_name.setText("Nina Newcomer")
    dialog.username.setText("9 nina")  # not a user name
    dialog.role.setCurrentIndex(dialog.role.findData(Role.RECEPTION.value))
    dialog.password.setText("short")
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog.error.text()), timeout=WAIT)
    assert dialog.isVisible()
    assert dialog.username.property("invalid") and dialog.password.property("invalid")
    assert not dialog.display_name.property("invalid") and not dialog.role.property("invalid")
    assert (dialog.display_name.text(), dialog.username.text(), dialog.password.text()) == (
        "Nina Newcomer", "9 nina", "short")  # nothing typed is lost
    assert "letters, digits" in dialog.error.text()
    assert save.isEnabled() and save.isDefault()  # Enter saves again, it does not cancel
    assert dialog.focusWidget() is dialog.username  # the first field marked
    assert dialog.error.height() >= dialog.error.heightForWidth(dialog.error.width())  # unclipped
    shot(dialog, "admin-add-staff-refused.png")

    dialog.username.setText("nina")
    dialog.password.setText("Kettle Harbour Lantern 7")
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        # Save is off while the account is made: a second click makes no second attempt
        assert not save.isEnabled()
    assert dialog.saved.username == "nina" and dialog.saved.role == Role.RECEPTION
    qtbot.waitUntil(lambda: tab.model.rowCount() == 5, timeout=WAIT)


# --- 2. the patient banner ------------------------------------------------------------------


def test_the_banner_separates_the_mrn_and_the_ppsn_like_every_other_fact(
        qtbot, ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    pid = make_patient("Louise", "Clarke", birth_date=date(1984, 3, 2), mrn="RFP100121")
    with ctx.db.sessions()() as s, s.begin():
        s.add(PatientIdentifier(patient_id=pid, system="urn:ie:ppsn", label="PPSN",
                                value="1234567TA"))
    panel = PatientFile(ctx, actors[Role.RECEPTION], pid, None)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.banner_loaded, timeout=WAIT) as loaded:
        panel.show()
    banner = PatientBanner()
    qtbot.addWidget(banner)
    banner.resize(1000, 60)
    banner.set_data(loaded.args[0])
    banner.show()
    parts = [p.strip() for p in banner.facts.text().split("·")]
    assert parts[-2:] == ["MRN RFP100121", "PPSN 1234567TA"]
    assert parts[:2] == [f"{loaded.args[0].age} y", "Female"]
    shot(banner, "patient-banner-identifiers.png")


# --- 3. the appointment book's saved columns -----------------------------------------------


def _practitioners(ctx) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Two more practitioners beside the clinic's Dr Kelly; family name -> id."""
    with ctx.db.sessions()() as s, s.begin():
        clinic_id = s.scalars(select(Practitioner.clinic_id)).first()
        for given, family, colour in (("Niamh", "Walsh", "#e0883a"),
                                      ("Aoife", "Byrne", "#8e6bd8")):
            s.add(Practitioner(clinic_id=clinic_id, prefix="Dr", given=given, family=family,
                               colour=colour))
    with ctx.db.sessions()() as s:
        return {p.family: p.id for p in s.scalars(select(Practitioner))}


def _retire(ctx, *ids: str) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(Practitioner).where(Practitioner.id.in_(ids)).values(active=False))


def _open_book(qtbot, ctx, rita):  # type: ignore[no-untyped-def]
    book = AppointmentBook(ctx, rita, None)
    qtbot.addWidget(book)
    book.resize(1100, 600)
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.show()
    return book


def test_saved_columns_of_practitioners_all_retired_fall_back_to_the_active_ones(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    ids = _practitioners(ctx)
    app_settings().setValue(f"appointment_book/{rita.username}/practitioners",
                            [ids["Walsh"], ids["Byrne"]])
    _retire(ctx, ids["Walsh"], ids["Byrne"])  # both left the clinic since
    book = _open_book(qtbot, ctx, rita)
    assert [p.name for p in book.view.practitioners] == ["Dr Siobhan Kelly"]
    assert len(book.grid.layout_.columns) == 1
    shot(book, "book-saved-columns-retired.png")
    # The choice is offered again as everyone active, ticked
    book.choose_practitioners()
    qtbot.addWidget(book.columns_dialog)
    items = [book.columns_dialog.list.item(i) for i in range(book.columns_dialog.list.count())]
    assert [(i.text(), i.checkState()) for i in items] == [
        ("Dr Siobhan Kelly", Qt.CheckState.Checked)]
    book.columns_dialog.reject()
    # and the saved choice is kept: a practitioner who comes back is a column again
    assert app_settings().value(f"appointment_book/{rita.username}/practitioners") == [
        ids["Walsh"], ids["Byrne"]]


def test_saved_columns_with_one_practitioner_retired_show_only_the_active_chosen(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    ids = _practitioners(ctx)
    app_settings().setValue(f"appointment_book/{rita.username}/practitioners",
                            [ids["Walsh"], ids["Byrne"]])
    _retire(ctx, ids["Walsh"])
    book = _open_book(qtbot, ctx, rita)
    assert [p.id for p in book.view.practitioners] == [ids["Byrne"]]  # not Dr Kelly


def test_the_week_of_a_practitioner_retired_meanwhile_shows_an_active_ones_week(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    ids = _practitioners(ctx)
    book = _open_book(qtbot, ctx, rita)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.week_button.click()
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_week_practitioner(ids["Walsh"])
    assert [p.id for p in book.view.practitioners] == [ids["Walsh"]]
    _retire(ctx, ids["Walsh"])
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.reload()
    assert len(book.view.practitioners) == 1 and book.view.practitioners[0].id != ids["Walsh"]
    assert book.practitioner_combo.currentData() == book.week_practitioner == (
        book.view.practitioners[0].id)


def test_the_practitioners_dialog_keeps_a_retired_practitioner_in_the_saved_choice(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    """A practitioner away (deactivated) is not offered; choosing columns meanwhile keeps them
    in the saved choice, where they were, so that they are a column again when back."""
    rita = actors[Role.RECEPTION]
    ids = _practitioners(ctx)
    key = f"appointment_book/{rita.username}/practitioners"
    app_settings().setValue(key, [ids["Kelly"], ids["Walsh"], ids["Byrne"]])
    _retire(ctx, ids["Walsh"])
    book = _open_book(qtbot, ctx, rita)
    book.choose_practitioners()
    dialog = book.columns_dialog
    qtbot.addWidget(dialog)
    items = [dialog.list.item(i) for i in range(dialog.list.count())]
    assert [i.text() for i in items] == ["Dr Siobhan Kelly", "Dr Aoife Byrne"]  # not Walsh
    items[0].setCheckState(Qt.CheckState.Unchecked)  # Dr Kelly off the book
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert [p.id for p in book.view.practitioners] == [ids["Byrne"]]
    assert app_settings().value(key) == [ids["Walsh"], ids["Byrne"]]

    with ctx.db.sessions()() as s, s.begin():  # Dr Walsh is back
        s.execute(update(Practitioner).where(Practitioner.id == ids["Walsh"]).values(active=True))
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.reload()
    assert [p.id for p in book.view.practitioners] == [ids["Walsh"], ids["Byrne"]]


@pytest.mark.parametrize(("chosen", "previous", "saved"), [
    (["B", "A"], ["A", "R1", "R2", "B"], ["B", "A", "R1", "R2"]),  # after the one they followed
    (["A"], ["R1", "A"], ["R1", "A"]),  # first, when first
    (["A"], ["B", "R1"], ["A", "R1"]),  # the one they followed is no longer chosen
    (None, ["A", "R1"], None),  # no one ticked: everyone, the retired too when back
])
def test_keep_retired_keeps_each_where_it_was(chosen, previous, saved) -> None:  # type: ignore[no-untyped-def]
    assert keep_retired(chosen, previous, ["A", "B"]) == saved


# --- 4. a password reset seen by a screen that shows no error itself ------------------------

_new: NewWidgets  # the widgets the test made (shown dialogs, error boxes)


@pytest.fixture
def controller(qtbot, ctx, qapp):  # type: ignore[no-untyped-def]
    global _new
    _new = NewWidgets(qapp)
    c = SessionController(ctx, idle_ms=600_000, clinic_name="Riverside", timezone="UTC")
    yield c
    dispose(c)  # closed only, its windows outlived the test (tests/gui/session_support)
    _new.release()


def _shown(cls: type) -> list:  # type: ignore[type-arg]
    return _new.shown(cls)


def error_boxes() -> list[QMessageBox]:
    return _new.error_boxes()


def test_a_reset_refusing_a_silent_duplicate_check_opens_the_forced_change_once(
        qtbot, ctx, actors, controller) -> None:  # type: ignore[no-untyped-def]
    sign_in = controller.show_sign_in()
    qtbot.addWidget(sign_in)
    sign_in.username.setText("rita")
    sign_in.password.setText(TEST_PASSWORD)
    sign_in.code.setText(current_code(TOTP_SECRETS[Role.RECEPTION], datetime.now(UTC)))
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        qtbot.mouseClick(sign_in.sign_in_button, Qt.MouseButton.LeftButton)
    window = controller.main_window
    window.resize(1200, 760)
    patients = window.show_screen("patients")
    settle(qtbot)
    patients.register_new()
    dialog = patients.dialog
    qtbot.waitExposed(dialog)
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=actors[Role.RECEPTION].user_id,
                                new_password=FIRST)
    settle(qtbot)
    assert not _shown(ChangePasswordDialog) and not error_boxes()  # nothing asked since

    # Typing a surname looks for duplicates; that check's own handler shows nothing at all.
    with qtbot.waitSignal(dialog.dup_timer.timeout, timeout=WAIT):
        qtbot.keyClicks(dialog.inputs["family"], "Murphy")
    qtbot.waitUntil(lambda: bool(_shown(ChangePasswordDialog)), timeout=WAIT)
    settle(qtbot)
    assert len(_shown(ChangePasswordDialog)) == 1 and not error_boxes()
    assert controller.password_dialog is _shown(ChangePasswordDialog)[0]
    assert window.is_locked()

    # A second refused check, and a refused save through show_error: still the one dialog.
    dialog.check_duplicates()
    dialog.inputs["given"].setText("Mary")
    dialog.save()
    settle(qtbot)
    assert len(_shown(ChangePasswordDialog)) == 1 and not error_boxes()
    shot(controller.password_dialog, "password-reset-from-a-silent-check-dialog.png")
