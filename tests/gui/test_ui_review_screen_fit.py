"""Windows open no larger than the screen: the registration form's Register button and the main
window's status bar stay on a laptop's screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize

from pms_desktop.domain.enums import Role
from pms_desktop.ui.patients.patient_edit_dialog import PatientEditDialog
from pms_desktop.ui.widgets.screen_fit import FRAME, fitted_size

pytestmark = pytest.mark.usefixtures("themed", "isolated_settings")
LAPTOP = QRect(0, 0, 1366, 728)  # 1366 x 768 less a 40 px taskbar



def test_the_registration_form_opens_within_the_screen(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    dialog = PatientEditDialog(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(dialog)
    free = dialog.screen().availableGeometry()  # the offscreen screen: 800 x 800
    assert free.width() < 1080 + FRAME.width()  # narrower than the form asked for
    with qtbot.waitExposed(dialog):
        dialog.show()
    assert dialog.width() + FRAME.width() <= free.width()
    assert dialog.height() + FRAME.height() <= free.height()
    button = dialog.save_button
    corner = button.mapToGlobal(QPoint(button.width() - 1, button.height() - 1))
    assert free.contains(corner), (corner, free)


def test_the_first_window_fits_a_laptop_screen() -> None:
    # the main window's first size (no saved layout) and the registration form's, on a laptop
    assert fitted_size(QSize(1360, 860), LAPTOP, QSize(1330, 500)) == QSize(1350, 688)
    assert fitted_size(QSize(1080, 760), LAPTOP, QSize(700, 400)) == QSize(1080, 688)
    # a large monitor keeps the size chosen; a window never goes below its minimum
    assert fitted_size(QSize(1360, 860), QRect(0, 0, 1920, 1040), QSize(0, 0)) == QSize(1360, 860)
    assert fitted_size(QSize(1360, 860), QRect(0, 0, 1280, 680), QSize(1330, 500)).width() == 1330
