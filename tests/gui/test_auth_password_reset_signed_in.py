"""An admin resets the password of someone already signed in: their open screens' next service
call is refused (``PasswordChangeRequired``). The person sees the forced change once, not an
error box per refused call; a changed password lets the screens load again; cancelling signs
out."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QMessageBox

from pms_desktop.domain.enums import Role
from pms_desktop.security.totp import current_code
from pms_desktop.ui.auth.change_password_dialog import ChangePasswordDialog
from pms_desktop.ui.auth.session_controller import SessionController
from pms_desktop.ui.ops import wait_for_idle
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.gui.session_support import NewWidgets, dispose

pytestmark = pytest.mark.usefixtures("themed")

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 10_000
FIRST = "Admin-Chose-This-1"
MINE = "Kettle Harbour Lantern 7"


@pytest.fixture
def controller(qtbot, ctx):  # type: ignore[no-untyped-def]
    c = SessionController(ctx, idle_ms=600_000, clinic_name="Riverside", timezone="UTC")
    yield c
    dispose(c)


_new: NewWidgets  # the widgets this test made (shown dialogs, error boxes)


@pytest.fixture(autouse=True)
def fresh_widgets(qapp: QApplication) -> Iterator[None]:
    global _new
    _new = NewWidgets(qapp)
    yield
    _new.release()


def error_boxes() -> list[QMessageBox]:
    return _new.error_boxes()


def change_dialogs() -> list[ChangePasswordDialog]:
    return _new.shown(ChangePasswordDialog)


def settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Let queued work run and its answers reach the GUI thread."""
    for _ in range(3):
        wait_for_idle()
        qtbot.wait(50)


def signed_in_rita(qtbot, controller):  # type: ignore[no-untyped-def]
    dialog = controller.show_sign_in()
    qtbot.addWidget(dialog)
    dialog.username.setText("rita")
    dialog.password.setText(TEST_PASSWORD)
    dialog.code.setText(current_code(TOTP_SECRETS[Role.RECEPTION], datetime.now(UTC)))
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    window = controller.main_window
    window.resize(1200, 760)
    room = window.show_screen("waiting_room")
    qtbot.waitUntil(lambda: not room._loading, timeout=WAIT)
    settle(qtbot)
    assert not error_boxes()
    return window, room


def reset_rita_and_refresh(qtbot, ctx, actors, window, room):  # type: ignore[no-untyped-def]
    """Another session (the clinic admin) resets rita's password; then her screens load."""
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=actors[Role.RECEPTION].user_id,
                                new_password=FIRST)
    room.timer.timeout.emit()  # the 30-second refresh
    qtbot.waitUntil(lambda: bool(change_dialogs()), timeout=WAIT)
    window.screens["appointments"].reload()  # another screen's load, refused as well
    settle(qtbot)
    room.timer.timeout.emit()  # and the next timer tick
    settle(qtbot)


def test_a_reset_while_signed_in_asks_once_for_a_new_password_then_the_screens_load(
        qtbot, ctx, actors, make_patient, controller) -> None:  # type: ignore[no-untyped-def]
    window, room = signed_in_rita(qtbot, controller)
    pid = make_patient("Mary", "Murphy")
    prac = ctx.scheduling.practitioners(actors[Role.RECEPTION])[0].id
    appt = ctx.scheduling.book(actors[Role.RECEPTION], patient_id=pid, practitioner_id=prac,
                               start_at=datetime.now(UTC).replace(second=0, microsecond=0),
                               override_reason="t")
    settle(qtbot)
    assert room.model.rowCount() == 0

    reset_rita_and_refresh(qtbot, ctx, actors, window, room)
    assert len(change_dialogs()) == 1 and not error_boxes()
    dialog = controller.password_dialog
    assert dialog is change_dialogs()[0] and dialog.forced
    assert dialog.cancel_button.text() == "Sign out"
    assert window.is_locked()  # nothing of the patients shows behind it
    controller.lock("request")  # a lock meanwhile adds nothing: the dialog asks for the password
    assert controller.lock_screen is None

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(QPoint((shot.width() - dialog.width()) // 2,
                              (shot.height() - dialog.height()) // 3), dialog.grab())
    painter.end()
    shot.save(str(SHOTS / "auth-password-reset-while-signed-in.png"))

    # Someone else checks Mary in meanwhile: the refused refresh stays silent.
    ctx.scheduling.check_in(actors[Role.PRACTICE_MANAGER], appointment_id=appt.id)
    settle(qtbot)
    assert not error_boxes() and room.model.rowCount() == 0

    for edit, text in ((dialog.current, FIRST), (dialog.new, MINE), (dialog.repeat, MINE)):
        edit.setText(text)
    with qtbot.waitSignal(room.refreshed, timeout=WAIT):
        dialog.change_button.click()  # changed: the screens ask again, and are answered
    assert room.model.rowCount() == 1  # Mary, checked in while the dialog was open
    assert controller.password_dialog is None and not window.is_locked()
    assert not ctx.accounts.my_account(controller.session).must_change_password
    with qtbot.waitSignal(room.refreshed, timeout=WAIT):
        room.timer.timeout.emit()
    settle(qtbot)
    assert not error_boxes() and not change_dialogs() and controller.session is not None


def test_cancelling_the_forced_change_after_a_reset_signs_out(
        qtbot, ctx, actors, controller) -> None:  # type: ignore[no-untyped-def]
    window, room = signed_in_rita(qtbot, controller)
    reset_rita_and_refresh(qtbot, ctx, actors, window, room)
    assert len(change_dialogs()) == 1 and not error_boxes()
    with qtbot.waitSignal(controller.signed_out, timeout=WAIT):
        controller.password_dialog.cancel_button.click()
    assert controller.session is None and controller.main_window is None
    assert controller.sign_in_dialog is not None and controller.sign_in_dialog.isVisible()
    assert controller.sign_in_dialog.username.text() == "rita"
    settle(qtbot)
    assert not error_boxes() and not change_dialogs()


def test_a_reset_while_locked_asks_after_unlock(qtbot, ctx, actors, controller) -> None:  # type: ignore[no-untyped-def]
    window, room = signed_in_rita(qtbot, controller)
    controller.lock("request")
    screen = controller.lock_screen
    assert screen is not None
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=actors[Role.RECEPTION].user_id,
                                new_password=FIRST)
    room.timer.timeout.emit()
    settle(qtbot)
    assert not error_boxes() and not change_dialogs()  # the lock screen stays on top, alone
    screen.password.setText(FIRST)  # the password the admin gave
    with qtbot.waitSignal(screen.unlocked, timeout=WAIT):
        screen.unlock_button.click()
    qtbot.waitUntil(lambda: bool(change_dialogs()), timeout=WAIT)
    assert len(change_dialogs()) == 1 and window.is_locked() and not error_boxes()
