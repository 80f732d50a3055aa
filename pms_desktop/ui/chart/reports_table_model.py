"""Diagnostic reports as a table: issued, test, laboratory, abnormal flag, review state."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from ..widgets.item_table_model import ItemTableModel
from .chart_format import ALERT_RED, MUTED, ClinicClock

Index = QModelIndex | QPersistentModelIndex


class ReportsTableModel(ItemTableModel):
    HEADERS = ("Issued", "Test", "Laboratory", "Result", "Reviewed")

    def __init__(self, clock: ClinicClock, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock


    @property
    def reports(self) -> list[Any]:
        return self.items

    def report(self, row: int) -> Any:
        return self.item(row)
    def set_reports(self, reports: list[Any]) -> None:
        self.reset_items(reports)






    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r, col = self.item_at(index), index.column()
        if r is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.clock.date_time(r.issued_at), r.display, r.performer or "",
                    self.tr("Abnormal") if r.abnormal else self.tr("Normal"),
                    self.clock.date(r.reviewed_at) if r.reviewed_at else self.tr("Not reviewed"),
                    )[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 3 and r.abnormal:
                return QColor(ALERT_RED)
            if col == 4 and r.reviewed_at:
                return QColor(MUTED)
        if role == Qt.ItemDataRole.FontRole and (
                (col == 3 and r.abnormal) or (col in (1, 4) and not r.reviewed_at)):
            font = QFont()
            font.setBold(True)
            return font
        return None
