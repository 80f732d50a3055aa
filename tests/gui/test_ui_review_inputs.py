"""The inputs as the person at the desk sees them in the booking dialog: a spin box shows its up
and down arrows, a drop-down its arrow, and a field that is switched off looks switched off."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage

from pms_desktop.domain.enums import Role
from pms_desktop.ui.theme import apply_theme

WAIT = 20_000


@pytest.fixture(autouse=True)
def _themed(qapp, isolated_settings):  # type: ignore[no-untyped-def]
    apply_theme(qapp)  # the stylesheet draws the inputs' buttons


@pytest.fixture
def booking(qtbot, reception_book):  # type: ignore[no-untyped-def]
    dialog = reception_book.new_appointment()
    qtbot.addWidget(dialog)
    with qtbot.waitExposed(dialog):
        dialog.show()
    return dialog


def _arrow_rows(image: QImage, area: QRect) -> list[int]:
    """How many dark pixels each row of ``area`` holds (rows without any left out): a triangle
    pointing up widens row by row, one pointing down narrows."""
    rows = []
    for y in range(area.top(), area.bottom() + 1):
        n = sum(1 for x in range(area.left(), area.right() + 1)
                if image.pixelColor(x, y).lightness() < 170)
        if n:
            rows.append(n)
    return rows


def _button_areas(widget) -> tuple[QRect, QRect]:  # type: ignore[no-untyped-def]
    """The top and bottom halves of the widget's right-hand 16 px, inside its border."""
    w, h = widget.width(), widget.height()
    return QRect(w - 17, 1, 16, h // 2 - 1), QRect(w - 17, h // 2, 16, h - h // 2 - 1)


def test_spin_boxes_show_an_up_and_a_down_arrow(booking):  # type: ignore[no-untyped-def]
    booking.duration.setValue(30)  # neither end of its range: both arrows in use
    for spin in (booking.duration, booking.time):
        image = spin.grab().toImage()
        up, down = _button_areas(spin)
        rising, falling = _arrow_rows(image, up), _arrow_rows(image, down)
        assert len(rising) >= 3 and rising == sorted(rising) and rising[0] < rising[-1], rising
        assert len(falling) >= 3 and falling == sorted(falling, reverse=True), falling
        assert falling[0] > falling[-1]


def test_drop_downs_show_an_arrow_pointing_down(booking):  # type: ignore[no-untyped-def]
    for combo in (booking.type, booking.day):
        image = combo.grab().toImage()
        rows = _arrow_rows(image, QRect(combo.width() - 19, 1, 18, combo.height() - 2))
        assert len(rows) >= 3 and rows == sorted(rows, reverse=True) and rows[0] > rows[-1], rows


@pytest.mark.parametrize("role", list(Role))
def test_every_roles_window_fits_a_1280_screen(qtbot, ctx, actors, make_patient, role):  # type: ignore[no-untyped-def]
    from pms_desktop.ui.main_window import MainWindow
    from pms_desktop.ui.widgets.screen_fit import FRAME

    # The widest rows: the reports' tool bar (practice manager, admin) and the appointment
    # book's (everyone). They held the window to 1364 and 1330 px; a 1280 x 800 screen leaves
    # 1264 inside the frame, and the window keeps some of that to spare.
    window = MainWindow(ctx, actors[role])
    qtbot.addWidget(window)
    window.resize(1280 - FRAME.width(), 800 - FRAME.height())
    window.show()
    assert "appointments" in window.screens
    assert ("reports" in window.screens) == (role in (Role.PRACTICE_MANAGER, Role.CLINIC_ADMIN))
    if role is not Role.CLINIC_ADMIN:  # the patient file and the chart, with a patient open
        pid = make_patient("Bartholomew", "Featherstonehaugh-Montgomery")
        window.open_patient(pid)
        qtbot.waitUntil(lambda: window.banner.data is not None, timeout=WAIT)
    assert window.minimumSizeHint().width() <= 1280 - FRAME.width() - 24
    assert window.width() == 1280 - FRAME.width()
    # And its height, above a 40 px taskbar: the chart's Letters tab held a clinician's window
    # at 746 px, the status bar under the taskbar.
    assert window.minimumSizeHint().height() <= 800 - 40 - FRAME.height()


def _text_colour(widget) -> QColor:  # type: ignore[no-untyped-def]
    """The darkest colour drawn in the widget's text area (left of its buttons)."""
    image = widget.grab().toImage()
    pixels = (image.pixelColor(x, y) for y in range(3, widget.height() - 3)
              for x in range(3, widget.width() - 24))
    return min(pixels, key=lambda c: c.lightness())


def test_a_field_switched_off_looks_switched_off(booking):  # type: ignore[no-untyped-def]
    # 'Does not repeat': the number of times does not apply and cannot be changed
    assert not booking.occurrences.isEnabled()
    assert booking.duration.isEnabled()
    off, on = _text_colour(booking.occurrences), _text_colour(booking.duration)
    assert off.lightness() - on.lightness() >= 60, (off.name(), on.name())
    booking.repeat.setCurrentIndex(booking.repeat.findData(1))  # weekly
    assert _text_colour(booking.occurrences).lightness() - on.lightness() < 20
