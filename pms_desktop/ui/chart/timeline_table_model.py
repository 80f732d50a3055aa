"""The patient timeline as a table: when, what kind, title and detail; abnormal rows in red."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from .chart_format import ALERT_RED, MUTED, ClinicClock

Index = QModelIndex | QPersistentModelIndex
KIND_LABELS = {"encounter": "Encounter", "note": "Note", "vitals": "Vitals", "result": "Result"}
KIND_ROLE = Qt.ItemDataRole.UserRole + 1


class TimelineTableModel(QAbstractTableModel):
    HEADERS = ("When", "Kind", "Entry", "Detail")

    def __init__(self, clock: ClinicClock, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.entries: list[Any] = []

    def set_entries(self, entries: list[Any]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def entry(self, row: int) -> Any:
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        e, col = self.entries[index.row()], index.column()
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
