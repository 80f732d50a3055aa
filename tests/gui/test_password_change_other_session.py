"""A ``PasswordChangeRequired`` names the session it refused, and the workstation acts on it only
for the session signed in now: a refusal of an earlier session (its work still on the worker
thread when someone else signed in) opens no forced "Change password" for the new person and
shows them no error box; a refusal of their own session still does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PasswordChangeRequired
from pms_desktop.security.totp import current_code
from pms_desktop.ui.auth.change_password_dialog import ChangePasswordDialog
from pms_desktop.ui.auth.session_controller import SessionController
from pms_desktop.ui.ops import run_op, wait_for_idle
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.gui.session_support import NewWidgets, dispose

pytestmark = pytest.mark.usefixtures("themed")

WAIT = 10_000
SET_BY_ADMIN = "Admin-Chose-This-1"


@pytest.fixture
def controller(qtbot, ctx):  # type: ignore[no-untyped-def]
    c = SessionController(ctx, idle_ms=600_000, clinic_name="Riverside", timezone="UTC")
    yield c
    dispose(c)


@pytest.fixture
def new(qapp: QApplication) -> Iterator[NewWidgets]:
    widgets = NewWidgets(qapp)
    yield widgets
    widgets.release()


def settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        wait_for_idle()
        qtbot.wait(50)


def sign_in(qtbot, controller, actors, role: Role):  # type: ignore[no-untyped-def]
    dialog = controller.show_sign_in()
    qtbot.addWidget(dialog)
    dialog.username.setText(actors[role].username)
    dialog.password.setText(TEST_PASSWORD)
    dialog.code.setText(current_code(TOTP_SECRETS[role], datetime.now(UTC)))
    with qtbot.waitSignal(controller.signed_in, timeout=WAIT):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    return controller.session


def test_the_refusal_names_the_session_it_refused(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=rita.user_id,
                                new_password=SET_BY_ADMIN)
    with pytest.raises(PasswordChangeRequired) as refused:
        ctx.scheduling.practitioners(rita)
    assert refused.value.session_id == rita.session_id


def test_a_late_refusal_of_an_earlier_session_leaves_the_next_person_alone(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, controller, new) -> None:
    rita = sign_in(qtbot, controller, actors, Role.RECEPTION)
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=rita.user_id,
                                new_password=SET_BY_ADMIN)
    controller.switch_user()  # rita leaves; the practice manager signs in at the same desk
    sam = sign_in(qtbot, controller, actors, Role.PRACTICE_MANAGER)
    assert sam.user_id != rita.user_id
    window = controller.main_window

    # Work rita's screens had queued answers now, refused: once to a caller with no handler of
    # its own (shown by show_error), once to one with its own (ui.ops routes it first).
    handled: list[BaseException] = []
    run_op(None, lambda: ctx.scheduling.practitioners(rita))
    run_op(None, lambda: ctx.scheduling.practitioners(rita), None, handled.append)
    settle(qtbot)
    assert len(handled) == 1 and isinstance(handled[0], PasswordChangeRequired)
    assert not new.shown(ChangePasswordDialog) and not new.error_boxes()
    assert controller.password_dialog is None and controller.session is sam
    assert not window.is_locked()

    # The manager's own session refused: the forced change is for them, as before.
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=sam.user_id,
                                new_password=SET_BY_ADMIN)
    run_op(None, lambda: ctx.scheduling.practitioners(sam), None, handled.append)
    qtbot.waitUntil(lambda: bool(new.shown(ChangePasswordDialog)), timeout=WAIT)
    assert controller.password_dialog is not None and window.is_locked()
    assert not new.error_boxes()
