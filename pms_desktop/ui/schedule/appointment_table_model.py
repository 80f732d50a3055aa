"""Table model of appointments as a list (a patient's appointments, a day list)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ...services.scheduling_dto import AppointmentInfo
from ..theme import STATUS_COLOURS, STATUS_LABELS

Index = QModelIndex | QPersistentModelIndex


class AppointmentTableModel(QAbstractTableModel):
    HEADERS = ("Date", "Time", "With", "Type", "Status", "Note")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[AppointmentInfo] = []
        self.tz = ZoneInfo("UTC")

    def set_rows(self, rows: list[AppointmentInfo], timezone: str = "UTC") -> None:
        self.beginResetModel()
        self.rows, self.tz = list(rows), ZoneInfo(timezone)
        self.endResetModel()

    def appointment(self, row: int) -> AppointmentInfo | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        a, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            start, end = a.start_at.astimezone(self.tz), a.end_at.astimezone(self.tz)
            note = a.cancel_reason if a.status == "cancelled" else a.note
            return (
                f"{start:%a %d %b %Y}",
                f"{start:%H:%M}–{end:%H:%M}",
                a.practitioner_name,
                a.type_name,
                STATUS_LABELS.get(a.status, a.status),
                note,
            )[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return QBrush(QColor(STATUS_COLOURS.get(a.status, "#333333")))
        if role == Qt.ItemDataRole.UserRole:
            return a.id
        return None
