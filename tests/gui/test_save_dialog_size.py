"""A refused save grows the dialog to show every message under the form, and never shrinks
one the person had made larger (``SaveDialog._failed``)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from pms_desktop.domain.enums import Role
from pms_desktop.ui.admin.user_edit_dialog import UserEditDialog

pytestmark = pytest.mark.usefixtures("themed")


def _refused(qtbot, ctx, actors, size):  # type: ignore[no-untyped-def]
    dialog = UserEditDialog(ctx, actors[Role.CLINIC_ADMIN])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    if size is not None:
        dialog.resize(*size)
        qtbot.wait(20)
    before = dialog.size()
    dialog.display_name.setText("Nina Newcomer")
    dialog.username.setText("9 nina")  # not a user name
    dialog.password.setText("short")  # two wrapped messages
    save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog.error.text()), timeout=10_000)
    qtbot.wait(20)
    return dialog, before


def test_a_refused_save_keeps_the_size_the_person_gave_the_dialog(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    dialog, before = _refused(qtbot, ctx, actors, (760, 420))
    assert dialog.width() >= before.width() and dialog.height() >= before.height()
    assert dialog.username.text() == "9 nina"


def test_a_refused_save_grows_a_small_dialog_to_show_the_messages(
        qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    dialog, _before = _refused(qtbot, ctx, actors, None)
    assert dialog.height() >= dialog.sizeHint().height()
    assert dialog.error.height() >= dialog.error.heightForWidth(dialog.error.width())
