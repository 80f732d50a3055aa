"""A window's first size, no larger than the screen it opens on.

A size chosen on a desktop monitor (the registration form's 1080 x 760, the main window's
1360 x 860) is taller than a 1366 x 768 laptop leaves free under its taskbar: the window opened
with its bottom, and the form's Register button, below the screen's edge.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication, QWidget

# The window manager's frame around the size asked for: a title bar and borders.
FRAME = QSize(16, 40)


def fitted_size(wanted: QSize, available: QRect, minimum: QSize) -> QSize:
    """``wanted``, shrunk to what ``available`` holds with the frame, never below ``minimum``."""
    room = available.size() - FRAME
    return wanted.boundedTo(room).expandedTo(minimum)


def resize_to_fit(widget: QWidget, width: int, height: int) -> None:
    """``widget.resize(width, height)``, shrunk to the screen it will open on."""
    screen = widget.screen() or QApplication.primaryScreen()
    if screen is None:
        widget.resize(width, height)
        return
    widget.resize(
        fitted_size(QSize(width, height), screen.availableGeometry(), widget.minimumSizeHint())
    )
