"""Table model of appointments as a list (a patient's appointments, a day list)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ...services.scheduling_dto import AppointmentInfo
from ..theme import STATUS_COLOURS, STATUS_LABELS
from ..widgets.dates import weekday_day_text
from ..widgets.item_table_model import ItemTableModel

Index = QModelIndex | QPersistentModelIndex


class AppointmentTableModel(ItemTableModel):
    HEADERS = ("Date", "Time", "With", "Type", "Status", "Note")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.tz = ZoneInfo("UTC")


    @property
    def rows(self) -> list[AppointmentInfo]:
        return self.items

    def appointment(self, row: int) -> AppointmentInfo | None:
        return self.item(row)
    def set_rows(self, rows: list[AppointmentInfo], timezone: str = "UTC") -> None:
        self.beginResetModel()
        self.items, self.tz = list(rows), ZoneInfo(timezone)
        self.endResetModel()





    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        a, col = self.item_at(index), index.column()
        if a is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            start, end = a.start_at.astimezone(self.tz), a.end_at.astimezone(self.tz)
            note = a.cancel_reason if a.status == "cancelled" else a.note
            return (
                weekday_day_text(start),
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
