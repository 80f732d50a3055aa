"""A table that, while it has no rows, says why in its middle ("No one has checked in yet").

An empty table with only its header reads as still loading, or as broken; the words say that
there is nothing to show. The screen sets them once it has loaded (none while it loads).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QTableView

MUTED = "#5f6b7a"  # style.qss's QLabel#muted


class PlaceholderTableView(QTableView):
    def __init__(self) -> None:
        super().__init__()
        self._placeholder = ""

    def placeholder(self) -> str:
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if not self._placeholder or model is None or model.rowCount() > 0:
            return
        painter = QPainter(self.viewport())
        painter.setPen(QColor(MUTED))
        painter.drawText(
            self.viewport().rect().adjusted(12, 24, -12, -12),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
            self._placeholder,
        )
