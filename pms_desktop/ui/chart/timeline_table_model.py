"""The patient timeline as a table: when, what kind, title and detail; abnormal rows in red."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ..widgets.item_table_model import ItemTableModel
from .chart_format import ALERT_RED, MUTED, ClinicClock

Index = QModelIndex | QPersistentModelIndex
KIND_LABELS = {"encounter": "Encounter", "note": "Note", "vitals": "Vitals", "result": "Result"}
KIND_ROLE = Qt.ItemDataRole.UserRole + 1


class TimelineTableModel(ItemTableModel):
    HEADERS = ("When", "Kind", "Entry", "Detail")

    def __init__(self, clock: ClinicClock, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock


    @property
    def entries(self) -> list[Any]:
        return self.items

    def entry(self, row: int) -> Any:
        return self.item(row)
    def set_entries(self, entries: list[Any]) -> None:
        self.reset_items(entries)





    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        e, col = self.item_at(index), index.column()
        if e is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.clock.date_time(e.at), self.tr(KIND_LABELS.get(e.kind, e.kind)),
                    e.title, e.detail)[col]
        if role == KIND_ROLE:
            return e.kind
        if role == Qt.ItemDataRole.ForegroundRole:
            if e.abnormal and col in (2, 3):
                return QColor(ALERT_RED)
            if col in (0, 1):
                return QColor(MUTED)
        if role == Qt.ItemDataRole.ToolTipRole and col == 3:
            return e.detail
        return None
