"""The application's look: one calm stylesheet for every screen, and the shared colours.

Status colours are the first cue in the appointment book (the type's colour is the second);
they are named here once so that the book, its legend, the waiting room and printouts agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDateTimeEdit,
    QProxyStyle,
    QStyleFactory,
)

STYLESHEET = Path(__file__).resolve().parent.parent / "resources" / "style.qss"
# The inputs' left border and padding in style.qss (1 + 6 px): where a line edit's text starts.
INPUT_TEXT_INSET = 7

ACCENT = "#1f6f8b"
ALERT_RED = "#b3261e"
TEXT = "#1d2733"
MUTED = "#5f6b7a"
GRID_LINE = "#e3e8ee"
GRID_HOUR = "#c9d2dc"
UNAVAILABLE = "#eceff3"
NOW_LINE = "#d93025"

STATUS_COLOURS: dict[str, str] = {
    "booked": "#3d7cc9",
    "arrived": "#2e9d5b",
    "in-consultation": "#7b4fc4",
    "completed": "#7d8a96",
    "cancelled": "#c0392b",
    "noshow": "#e07b1f",
}
STATUS_LABELS: dict[str, str] = {
    "booked": "Booked",
    "arrived": "Arrived",
    "in-consultation": "In consultation",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "noshow": "Did not attend",
}


def status_colour(status: str) -> QColor:
    return QColor(STATUS_COLOURS.get(status, "#7d8a96"))


def stylesheet() -> str:
    """The stylesheet, its ``@resources/`` images (the inputs' arrows) found beside it."""
    try:
        text = STYLESHEET.read_text(encoding="utf-8")
    except OSError:
        return ""
    return text.replace("@resources/", STYLESHEET.parent.as_posix() + "/")


class _InputStyle(QProxyStyle):
    """Fusion, with a spin box's text as far in from its border as a line edit's.

    The stylesheet's padding moves a line edit's text but not a spin box's (nor a time's, a
    date's): its inner line edit fills the box and put the digits against the left border.
    A date with a calendar drop-down is laid out as a drop-down list, padding included.
    Done as the widget is polished (first shown), after its builder chose the drop-down, so
    every spin box gets it wherever it is built.
    """

    def polish(self, target: Any) -> Any:
        result = super().polish(target)
        if isinstance(target, QAbstractSpinBox):
            padded = isinstance(target, QDateTimeEdit) and target.calendarPopup()
            target.lineEdit().setTextMargins(0 if padded else INPUT_TEXT_INSET, 0, 0, 0)
        return result


def apply_theme(app: QApplication) -> None:
    """Fusion style (the same on every platform), a readable font size and the stylesheet."""
    app.setStyle(_InputStyle(QStyleFactory.create("Fusion")))
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(stylesheet())
