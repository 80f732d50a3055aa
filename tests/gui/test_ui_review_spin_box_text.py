"""A spin box's text (a length, a time, a day) starts as far in from its border as a line edit's
text: it sat against the left border, as the stylesheet's padding does not reach a spin box's
inner line edit."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

pytestmark = pytest.mark.usefixtures("themed", "isolated_settings")


def _text_x(widget: QWidget) -> int:
    """The first column of the widget's text, the border left out (a focused border is dark)."""
    image = widget.grab().toImage()
    rows = range(image.height() // 4, image.height() * 3 // 4)
    for x in range(3, image.width()):
        if any(QColor(image.pixel(x, y)).lightness() < 120 for y in rows):
            return x
    raise AssertionError("no text drawn")


def test_the_booking_dialogs_spin_boxes_start_their_text_as_its_line_edits_do(
        qtbot: Any, reception_book: Any) -> None:
    dialog = reception_book.new_appointment()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.note.setText("10")
    dialog.duration.setValue(15)
    line_edit = _text_x(dialog.note)
    assert line_edit >= 8
    for spin in (dialog.duration, dialog.time, dialog.day):
        assert abs(_text_x(spin) - line_edit) <= 2, spin  # it was 3 or 4 px, against the border
    dialog.reject()
