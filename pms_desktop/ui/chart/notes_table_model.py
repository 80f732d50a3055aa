"""The patient's notes as a table: date, status, author, first line of the assessment."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from .chart_format import MUTED, ClinicClock

Index = QModelIndex | QPersistentModelIndex


class NotesTableModel(QAbstractTableModel):
    HEADERS = ("Date", "Status", "Author", "Summary")

    def __init__(self, clock: ClinicClock, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.notes: list[Any] = []

    def set_notes(self, notes: list[Any]) -> None:
        self.beginResetModel()
        self.notes = list(notes)
        self.endResetModel()

    def note(self, row: int) -> Any:
        return self.notes[row] if 0 <= row < len(self.notes) else None

    def row_of(self, note_id: str) -> int:
        return next((i for i, n in enumerate(self.notes) if n.id == note_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.notes)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.notes):
            return None
        n, col = self.notes[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return self.clock.date_time(n.signed_at or n.updated_at)
            if col == 1:
                status = self.tr("Signed") if n.signed else self.tr("Draft")
                return status + (f" +{len(n.addenda)}" if n.addenda else "")
            if col == 2:
                return n.signed_by_name or n.author_name
            text = (n.assessment or n.subjective or "").strip().splitlines()
            return text[0][:80] if text else ""
        if role == Qt.ItemDataRole.ForegroundRole and col == 1 and not n.signed:
            return QColor("#9a6700")
        if role == Qt.ItemDataRole.ForegroundRole and col == 0:
            return QColor(MUTED)
        if role == Qt.ItemDataRole.FontRole and not n.intact:
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and not n.intact:
            return self.tr("This signed note no longer matches its signature.")
        return None
