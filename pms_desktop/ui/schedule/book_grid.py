"""The painted time grid of the appointment book: slots, unavailable time, appointments, the
current-time line; selection, dragging to move, and typing in a slot to book.

It holds no data of its own beyond the last ``BookView``; it emits what the person did and the
``AppointmentBook`` calls the services.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...services.scheduling_dto import AppointmentInfo, BookView
from ..theme import (
    GRID_HOUR,
    GRID_LINE,
    MUTED,
    NOW_LINE,
    STATUS_COLOURS,
    STATUS_LABELS,
    UNAVAILABLE,
)
from .book_layout import MIN_COLUMN, SLOT_HEIGHT, TIME_AXIS, BookLayout, card_title


def _tint(colour: str, amount: float) -> QColor:
    c = QColor(colour)
    return QColor(
        int(c.red() + (255 - c.red()) * amount),
        int(c.green() + (255 - c.green()) * amount),
        int(c.blue() + (255 - c.blue()) * amount),
    )


class BookGrid(QWidget):
    appointment_selected = Signal(object)  # AppointmentInfo | None
    slot_selected = Signal(str, object)  # practitioner id, aware start
    slot_activated = Signal(str, object, str)  # practitioner id, start, text typed ("" = Enter)
    move_requested = Signal(str, str, object)  # appointment id, practitioner id, new start
    context_requested = Signal(object, object)  # AppointmentInfo, global QPoint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bookGrid")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(self.tr("Appointment book"))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.view: BookView | None = None
        self.layout_: BookLayout | None = None
        self.placed: list[tuple[AppointmentInfo, QRectF]] = []
        self.selected_id: str | None = None
        self.selected_slot: tuple[int, datetime] | None = None
        self._press: QPointF | None = None
        self._drag: tuple[AppointmentInfo, QPointF] | None = None
        self._drop: tuple[int, datetime] | None = None
        self.now_timer = QTimer(self)
        self.now_timer.timeout.connect(self.update)
        self.now_timer.start(60_000)

    # --- data ------------------------------------------------------------------------------

    def set_view(self, view: BookView) -> None:
        self.view = view
        self._relayout()

    def _relayout(self) -> None:
        if self.view is None:
            return
        parent = self.parentWidget()
        width = parent.width() if parent is not None else self.width()
        self.layout_ = BookLayout(self.view, width, MIN_COLUMN)
        self.setFixedHeight(self.layout_.height)
        self.setMinimumWidth(self.layout_.width)
        self.placed = self.layout_.placed()
        if self.selected_id and not any(a.id == self.selected_id for a, _ in self.placed):
            self.selected_id = None
        self.update()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if (
            self.view is not None
            and self.layout_ is not None
            and abs(self.layout_.width - self.width()) > 2
        ):
            self.layout_ = BookLayout(self.view, self.width(), MIN_COLUMN)
            self.placed = self.layout_.placed()

    def selected(self) -> AppointmentInfo | None:
        return next((a for a, _ in self.placed if a.id == self.selected_id), None)

    def appointment_rect(self, appointment_id: str) -> QRectF | None:
        return next((r for a, r in self.placed if a.id == appointment_id), None)

    def slot_point(self, practitioner_id: str, when: datetime) -> QPointF:
        """The centre of a slot cell (used by keyboard navigation and tests)."""
        assert self.layout_ is not None
        col = self.layout_.column_index(when.astimezone(self.layout_.tz).date(), practitioner_id)
        assert col is not None
        return self.layout_.cell_rect(col, when).center()

    # --- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        lay = self.layout_
        if lay is None or not lay.columns:
            p.setPen(QColor(MUTED))
            p.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No practitioners to show.")
            )
            return
        self._paint_unavailable(p, lay)
        self._paint_lines(p, lay)
        self._paint_selection(p, lay)
        for a, rect in self.placed:
            if self._drag is None or a.id != self._drag[0].id:
                self._paint_appointment(p, a, rect)
        self._paint_drag(p, lay)
        self._paint_now(p, lay)

    def _paint_unavailable(self, p: QPainter, lay: BookLayout) -> None:
        assert self.view is not None
        brush = QBrush(QColor(UNAVAILABLE))
        hatch = QBrush(QColor("#dde2e8"), Qt.BrushStyle.BDiagPattern)
        for u in self.view.unavailable:
            for i, c in enumerate(lay.columns):
                if c.practitioner.id != u.practitioner_id:
                    continue
                day_start = lay.slot_time(i, 0)
                day_end = day_start + timedelta(minutes=lay.slots * lay.slot)
                start, end = max(u.start_at, day_start), min(u.end_at, day_end)
                if start >= end:
                    continue
                r = QRectF(
                    lay.column_x(i), lay.y_of(start), lay.col_width, lay.y_of(end) - lay.y_of(start)
                )
                p.fillRect(r, brush)
                p.fillRect(r, hatch)
                if u.reason != "Not working" and r.height() > 18:
                    p.setPen(QColor(MUTED))
                    p.drawText(r.adjusted(6, 4, -4, 0), Qt.AlignmentFlag.AlignTop, u.reason)

    def _paint_lines(self, p: QPainter, lay: BookLayout) -> None:
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, small.pointSizeF() - 1.5))
        p.setFont(small)
        for s in range(lay.slots + 1):
            y = s * SLOT_HEIGHT
            minutes = lay.start_min + s * lay.slot
            on_hour = minutes % 60 == 0
            p.setPen(QPen(QColor(GRID_HOUR if on_hour else GRID_LINE), 1))
            p.drawLine(
                QPointF(TIME_AXIS - (8 if on_hour else 0), y + 0.5), QPointF(lay.width, y + 0.5)
            )
            if on_hour and s < lay.slots:
                p.setPen(QColor(MUTED))
                p.drawText(
                    QRectF(0, y + 2, TIME_AXIS - 12, 16),
                    Qt.AlignmentFlag.AlignRight,
                    f"{minutes // 60:02d}:00",
                )
        for i in range(len(lay.columns) + 1):
            x = lay.column_x(i)
            day_edge = i % max(1, len(self.view.practitioners if self.view else [])) == 0
            p.setPen(QPen(QColor("#aeb9c5" if day_edge else GRID_HOUR), 1))
            p.drawLine(QPointF(x + 0.5, 0), QPointF(x + 0.5, lay.height))
        p.setFont(self.font())

    def _paint_selection(self, p: QPainter, lay: BookLayout) -> None:
        if self.selected_slot is None:
            return
        col, when = self.selected_slot
        if col < len(lay.columns):
            r = lay.cell_rect(col, when)
            p.setPen(QPen(QColor("#1f6f8b"), 2))
            p.setBrush(QColor(31, 111, 139, 28))
            p.drawRoundedRect(r, 3, 3)
            p.setPen(QColor("#1f6f8b"))
            p.drawText(
                r.adjusted(6, 0, -4, 0),
                Qt.AlignmentFlag.AlignVCenter,
                self.tr("Type a surname to book…") if r.width() > 150 else "+",
            )

    def _paint_appointment(
        self, p: QPainter, a: AppointmentInfo, r: QRectF, ghost: bool = False
    ) -> None:
        status = STATUS_COLOURS.get(a.status, "#7d8a96")
        fill = _tint(status, 0.74 if a.status not in ("completed", "noshow") else 0.84)
        if ghost:
            fill.setAlpha(170)
        p.setPen(QPen(QColor(status), 2 if a.id == self.selected_id else 1))
        p.setBrush(fill)
        p.drawRoundedRect(r, 4, 4)
        stripe = QRectF(r.left() + 1, r.top() + 1, 6, r.height() - 2)
        p.fillRect(stripe, QColor(a.type_colour))
        if a.id == self.selected_id:
            p.setPen(QPen(QColor("#10202e"), 2, Qt.PenStyle.DotLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(r.adjusted(-1, -1, 1, 1), 5, 5)
        text = r.adjusted(10, 2, -4, -1)
        local = a.start_at.astimezone(self.layout_.tz) if self.layout_ else a.start_at
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(QColor("#10202e"))
        metrics = p.fontMetrics()
        first = card_title(a, local, lambda t: metrics.horizontalAdvance(t) <= text.width())
        line_h = p.fontMetrics().height()
        p.drawText(
            text,
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
            p.fontMetrics().elidedText(first, Qt.TextElideMode.ElideRight, int(text.width())),
        )
        p.setFont(self.font())
        if text.height() >= line_h * 2:
            p.setPen(QColor("#394656"))
            second = f"{a.type_name} · {STATUS_LABELS.get(a.status, a.status)}"
            p.drawText(
                text.adjusted(0, line_h, 0, 0),
                Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
                p.fontMetrics().elidedText(second, Qt.TextElideMode.ElideRight, int(text.width())),
            )

    def _paint_drag(self, p: QPainter, lay: BookLayout) -> None:
        if self._drag is None or self._drop is None:
            return
        a = self._drag[0]
        col, when = self._drop
        minutes = int((a.end_at - a.start_at).total_seconds() // 60)
        self._paint_appointment(p, a, lay.cell_rect(col, when, minutes), ghost=True)

    def _paint_now(self, p: QPainter, lay: BookLayout) -> None:
        now = datetime.now(UTC)
        today = now.astimezone(lay.tz).date()
        y = lay.y_of(now)
        if not 0 <= y <= lay.height:
            return
        cols = [i for i, c in enumerate(lay.columns) if c.day == today]
        if not cols:
            return
        x0, x1 = lay.column_x(cols[0]), lay.column_x(cols[-1] + 1)
        p.setPen(QPen(QColor(NOW_LINE), 2))
        p.drawLine(QPointF(x0, y), QPointF(x1, y))
        p.setBrush(QColor(NOW_LINE))
        p.drawEllipse(QPointF(x0, y), 4, 4)

    # --- mouse -----------------------------------------------------------------------------

    def _hit(self, pos: QPointF) -> AppointmentInfo | None:
        for a, r in reversed(self.placed):
            if r.contains(pos):
                return a
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        pos = event.position()
        hit = self._hit(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if hit is not None:
                self._select_appointment(hit)
                self.context_requested.emit(hit, event.globalPosition().toPoint())
            return
        self._press = pos
        if hit is not None:
            self._select_appointment(hit)
            self._drag = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        hit_id = self.selected_id
        if self._press is None or self.layout_ is None:
            return
        if self._drag is None and hit_id and (pos - self._press).manhattanLength() > 6:
            a = self.selected()
            if a is not None and a.status in ("booked", "arrived"):
                self._drag = (a, self._press)
        if self._drag is not None:
            a, origin = self._drag
            rect = self.appointment_rect(a.id) or QRectF()
            top = rect.top() + (pos.y() - origin.y())
            cell = self.layout_.cell_at(pos.x(), max(0.0, top + SLOT_HEIGHT / 2))
            self._drop = cell
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos, press = event.position(), self._press
        self._press = None
        if self._drag is not None:
            a, _ = self._drag
            drop, self._drag, self._drop = self._drop, None, None
            self.update()
            if drop is not None and self.layout_ is not None:
                col, when = drop
                prac = self.layout_.columns[col].practitioner.id
                if when != a.start_at or prac != a.practitioner_id:
                    self.move_requested.emit(a.id, prac, when)
            return
        if (
            press is None
            or event.button() != Qt.MouseButton.LeftButton
            or self._hit(pos) is not None
        ):
            return
        cell = self.layout_.cell_at(pos.x(), pos.y()) if self.layout_ else None
        if cell is not None:
            self._select_slot(*cell)
            self.slot_activated.emit(self.layout_.columns[cell[0]].practitioner.id, cell[1], "")  # type: ignore[union-attr]

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        hit = self._hit(event.position())
        if hit is not None:
            self.context_requested.emit(hit, None)

    def _select_appointment(self, a: AppointmentInfo) -> None:
        self.selected_id, self.selected_slot = a.id, None
        self.appointment_selected.emit(a)
        self.update()

    def _select_slot(self, col: int, when: datetime) -> None:
        self.selected_id, self.selected_slot = None, (col, when)
        if self.layout_ is not None:
            self.slot_selected.emit(self.layout_.columns[col].practitioner.id, when)
        self.appointment_selected.emit(None)
        self.update()

    def select_slot(self, practitioner_id: str, when: datetime) -> None:
        if self.layout_ is None:
            return
        col = self.layout_.column_index(when.astimezone(self.layout_.tz).date(), practitioner_id)
        if col is not None:
            self._select_slot(col, when)

    def select_appointment(self, appointment_id: str) -> None:
        a = next((x for x, _ in self.placed if x.id == appointment_id), None)
        if a is not None:
            self._select_appointment(a)

    # --- keyboard --------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        lay = self.layout_
        if lay is None or not lay.columns:
            return super().keyPressEvent(event)
        col, when = self.selected_slot or (0, lay.slot_time(0, 0))
        slot = lay.slot_index(when)
        key = event.key()
        moves = {
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
        }
        if key in moves:
            dc, ds = moves[key]
            col = min(max(0, col + dc), len(lay.columns) - 1)
            slot = min(max(0, slot + ds), lay.slots - 1)
            self._select_slot(col, lay.slot_time(col, slot))
            return
        if self.selected_slot is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.slot_activated.emit(lay.columns[col].practitioner.id, when, "")
            return
        text = event.text()
        if self.selected_slot is not None and text and text.isalpha():
            self.slot_activated.emit(lay.columns[col].practitioner.id, when, text)
            return
        super().keyPressEvent(event)
