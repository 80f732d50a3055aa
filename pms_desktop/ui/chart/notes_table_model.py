"""The patient's notes as a table: date, status, author, first line of the assessment."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from ..widgets.item_table_model import ItemTableModel
from .chart_format import MUTED, ClinicClock

Index = QModelIndex | QPersistentModelIndex


class NotesTableModel(ItemTableModel):
    HEADERS = ("Date", "Status", "Author", "Summary")

    def __init__(self, clock: ClinicClock, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock


    @property
    def notes(self) -> list[Any]:
        return self.items

    def note(self, row: int) -> Any:
        return self.item(row)
    def set_notes(self, notes: list[Any]) -> None:
        self.reset_items(notes)






    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        n, col = self.item_at(index), index.column()
        if n is None:
            return None
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
        if role == Qt.ItemDataRole.ToolTipRole and n.signed_in_record:
            return self.tr("Signed in %s") % n.signed_in_record
        return None
