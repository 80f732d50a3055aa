"""Table model of the waiting room: who arrived, when, how long they have waited, with whom."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ...services.scheduling_dto import WaitingEntry
from ..theme import STATUS_COLOURS, STATUS_LABELS
from ..widgets.item_table_model import ItemTableModel

Index = QModelIndex | QPersistentModelIndex


class WaitingRoomTableModel(ItemTableModel):
    HEADERS = ("Arrived", "Waiting", "Patient", "With", "Appointment", "Status")

    def __init__(self, timezone: str = "UTC", parent: Any = None) -> None:
        super().__init__(parent)
        self.tz = ZoneInfo(timezone)
        self.now = datetime.now(UTC)


    @property
    def rows(self) -> list[WaitingEntry]:
        return self.items

    def entry(self, row: int) -> WaitingEntry | None:
        return self.item(row)
    def set_rows(self, rows: list[WaitingEntry], now: datetime | None = None) -> None:
        self.beginResetModel()
        self.items = list(rows)
        self.now = now or datetime.now(UTC)
        self.endResetModel()





    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        e, col = self.item_at(index), index.column()
        if e is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(e, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == 5:
            return QBrush(QColor(STATUS_COLOURS.get(e.status, "#333333")))
        if role == Qt.ItemDataRole.ForegroundRole and col == 1 and e.status == "arrived":
            if self._minutes(e) >= 20:
                return QBrush(QColor("#b3261e"))
        if role == Qt.ItemDataRole.ToolTipRole and e.alerts and col == 2:
            return self.tr("This patient has alerts: open the file to read them.")
        if role == Qt.ItemDataRole.UserRole:
            return e.appointment_id
        return None

    def _minutes(self, e: WaitingEntry) -> int:
        return max(0, int((self.now - e.arrived_at).total_seconds() // 60))

    def _text(self, e: WaitingEntry, col: int) -> str:
        if col == 0:
            return e.arrived_at.astimezone(self.tz).strftime("%H:%M")
        if col == 1:
            return f"{self._minutes(e)} min" if e.status == "arrived" else "—"
        if col == 2:
            return e.patient_name + ("  ⚠" if e.alerts else "")
        if col == 3:
            return e.practitioner_name
        if col == 4:
            return f"{e.start_at.astimezone(self.tz):%H:%M} {e.type_name}"
        return STATUS_LABELS.get(e.status, e.status)
