"""Passwords of one's own: the forced change after an admin set the password (before the main
window, after a first MFA enrolment too), and "Change password…" from the account menu."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import AuthenticationError
from pms_desktop.security.totp import current_code
from pms_desktop.store.models import AuditEntry
from pms_desktop.ui.auth.session_controller import SessionController
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.gui.session_support import dispose

pytestmark = pytest.mark.usefixtures("themed")

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 10_000
FIRST = "Admin-Chose-This-1"
MINE = "Kettle Harbour Lantern 7"
NEXT_STEP = timedelta(seconds=30)  # a TOTP code is accepted once: the next one


@pytest.fixture
def controller(qtbot, ctx):  # type: ignore[no-untyped-def]
    c = SessionController(ctx, idle_ms=600_000, clinic_name="Riverside", timezone="UTC")
    yield c
    dispose(c)


def sign_in(qtbot, controller, user: str, password: str, code: str = ""):  # type: ignore[no-untyped-def]
    dialog = controller.show_sign_in()
    qtbot.addWidget(dialog)
    dialog.username.setText(user)
    dialog.password.setText(password)
    dialog.code.setText(code)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    return dialog


def rita_code() -> str:
    return current_code(TOTP_SECRETS[Role.RECEPTION], datetime.now(UTC))


def type_passwords(dialog, current: str, new: str, repeat: str | None = None) -> None:  # type: ignore[no-untyped-def]
    for edit, text in ((dialog.current, current), (dialog.new, new),
                       (dialog.repeat, new if repeat is None else repeat)):
        edit.setText(text)
    dialog.change_button.click()


def test_after_an_admin_reset_the_new_password_is_chosen_before_the_main_window(qtbot, ctx, actors,  # type: ignore[no-untyped-def]
                                                                                controller) -> None:
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=actors[Role.RECEPTION].user_id,
                                new_password=FIRST)
    sign_in(qtbot, controller, "rita", FIRST, rita_code())
    qtbot.waitUntil(lambda: controller.password_dialog is not None, timeout=WAIT)
    dialog = controller.password_dialog
    assert dialog.isVisible() and controller.main_window is None
    assert dialog.cancel_button.text() == "Sign out"

    type_passwords(dialog, "not my password", MINE)
    qtbot.waitUntil(lambda: dialog.errors["current"].isVisible(), timeout=WAIT)
    assert "not your current password" in dialog.errors["current"].text()
    assert dialog.current.property("invalid") and not dialog.new.property("invalid")
    assert (dialog.current.text(), dialog.new.text(), dialog.repeat.text()) == (
        "not my password", MINE, MINE)  # kept as typed

    type_passwords(dialog, FIRST, "rita2024")  # the policy: short, holds the user name
    qtbot.waitUntil(lambda: dialog.errors["new"].isVisible(), timeout=WAIT)
    assert "at least 12 characters" in dialog.errors["new"].text()
    assert "user name" in dialog.errors["new"].text()
    assert dialog.new.property("invalid") and not dialog.errors["current"].isVisible()

    type_passwords(dialog, FIRST, MINE, repeat=MINE + "!")
    assert "Not the same" in dialog.errors["repeat"].text() and dialog.repeat.property("invalid")
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "auth-change-password.png"))
    assert controller.main_window is None

    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        type_passwords(dialog, FIRST, MINE)
    assert not ctx.accounts.my_account(controller.session).must_change_password

    # Signed out, the old password no longer opens the account; the new one does, straight in.
    controller.main_window.sign_out_requested.emit()
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="rita", password=FIRST, totp_code=rita_code())
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        sign_in(qtbot, controller, "rita", MINE, current_code(TOTP_SECRETS[Role.RECEPTION],
                                                                datetime.now(UTC) + NEXT_STEP))
    assert controller.password_dialog is None
    with ctx.db.sessions()() as s:
        outcomes = list(s.scalars(select(AuditEntry.outcome).where(
            AuditEntry.action == "account.password.change").order_by(AuditEntry.seq)))
    assert outcomes == ["failure", "success"]  # the wrong current password is in the log


def test_cancelling_the_forced_change_signs_out(qtbot, ctx, actors, controller) -> None:  # type: ignore[no-untyped-def]
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=actors[Role.RECEPTION].user_id,
                                new_password=FIRST)
    sign_in(qtbot, controller, "rita", FIRST, rita_code())
    qtbot.waitUntil(lambda: controller.password_dialog is not None, timeout=WAIT)
    with qtbot.waitSignal(controller.signed_out, timeout=WAIT):
        controller.password_dialog.cancel_button.click()
    assert controller.session is None and controller.main_window is None
    assert controller.sign_in_dialog is not None and controller.sign_in_dialog.isVisible()


def test_a_new_account_enrols_mfa_then_chooses_its_password(qtbot, ctx, actors, controller) -> None:  # type: ignore[no-untyped-def]
    ctx.accounts.create_user(actors[Role.CLINIC_ADMIN], username="nina",
                             display_name="Nina Newcomer", role="reception", password=FIRST)
    sign_in(qtbot, controller, "nina", FIRST)
    qtbot.waitUntil(lambda: controller.mfa_dialog is not None, timeout=WAIT)
    panel = controller.mfa_dialog.panel
    qtbot.waitUntil(lambda: panel.enrolment is not None, timeout=WAIT)
    panel.code.setText(current_code(panel.enrolment.secret, datetime.now(UTC)))
    panel.confirm_button.click()
    qtbot.waitUntil(lambda: panel.stack.currentIndex() == 1, timeout=WAIT)
    panel.stored.setChecked(True)
    panel.done_button.click()
    assert controller.password_dialog is not None and controller.main_window is None
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        type_passwords(controller.password_dialog, FIRST, MINE)
    assert ctx.accounts.sign_in(username="nina", password=MINE, totp_code=current_code(
        panel.enrolment.secret, datetime.now(UTC) + NEXT_STEP)).username == "nina"


def test_change_password_from_the_account_menu(qtbot, ctx, controller) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        sign_in(qtbot, controller, "rita", TEST_PASSWORD, rita_code())
    window = controller.main_window
    assert controller.password_dialog is None  # nothing forced for an own password
    window.change_password_action.trigger()
    dialog = window.password_dialog
    assert dialog.cancel_button.text() == "Cancel"
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        type_passwords(dialog, TEST_PASSWORD, MINE)
    assert "password was changed" in window.statusBar().currentMessage()
    assert controller.session is not None  # still signed in
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="rita", password=TEST_PASSWORD, totp_code="")
