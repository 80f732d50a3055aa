"""The column headers above the grid (day and practitioner) and the status legend."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..theme import STATUS_COLOURS, STATUS_LABELS
from ..widgets.dates import weekday_day_month_text
from .book_layout import TIME_AXIS, BookLayout


class BookHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_: BookLayout | None = None
        self.offset = 0
        self.setFixedHeight(44)

    def set_layout(self, layout: BookLayout | None) -> None:
        self.layout_ = layout
        self.update()

    def set_offset(self, offset: int) -> None:
        self.offset = offset
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#eef2f6"))
        p.setPen(QColor("#d5dde6"))
        p.drawLine(0, self.height() - 1, self.width(), self.height() - 1)
        lay = self.layout_
        if lay is None:
            return
        p.translate(-self.offset, 0)
        bold = QFont(self.font())
        bold.setBold(True)
        week = lay.view.days > 1
        per_day = max(1, len(lay.view.practitioners))
        for i, c in enumerate(lay.columns):
            r = QRectF(lay.column_x(i) + 2, 0, lay.col_width - 4, self.height())
            p.fillRect(
                QRectF(r.left(), self.height() - 5, r.width(), 3), QColor(c.practitioner.colour)
            )
            p.setPen(QColor("#c9d2dc"))
            p.drawLine(int(lay.column_x(i)), 6, int(lay.column_x(i)), self.height() - 6)
            p.setFont(bold)
            p.setPen(QColor("#17324a"))
            if week:
                if i % per_day == 0:
                    day_r = QRectF(lay.column_x(i) + 4, 2, lay.col_width * per_day - 8, 20)
                    p.drawText(
                        day_r,
                        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                        weekday_day_month_text(c.day),
                    )
                p.setFont(self.font())
                p.setPen(QColor("#5f6b7a"))
                name = p.fontMetrics().elidedText(
                    c.practitioner.name, Qt.TextElideMode.ElideRight, int(r.width()) - 4
                )
                p.drawText(
                    r.adjusted(2, 20, 0, -6),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                    name,
                )
            else:
                name = p.fontMetrics().elidedText(
                    c.practitioner.name, Qt.TextElideMode.ElideRight, int(r.width()) - 4
                )
                p.drawText(
                    r.adjusted(4, 4, 0, -22),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    name,
                )
                p.setFont(self.font())
                p.setPen(QColor("#5f6b7a"))
                p.drawText(
                    r.adjusted(4, 20, 0, -6),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    c.practitioner.specialty or "",
                )
        p.resetTransform()
        p.fillRect(QRectF(0, 0, TIME_AXIS, self.height() - 1), QColor("#eef2f6"))


class StatusLegend(QWidget):
    """A small key: one coloured chip per status (the type colour is the stripe at the left)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        for status in ("booked", "arrived", "in-consultation", "completed", "noshow"):
            colour = STATUS_COLOURS[status]
            chip = QLabel(
                f"<span style='color:{colour}; font-size:14pt'>■</span> {STATUS_LABELS[status]}"
            )
            chip.setObjectName("muted")
            chip.setAccessibleName(STATUS_LABELS[status])
            row.addWidget(chip)
