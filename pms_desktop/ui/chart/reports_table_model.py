"""Diagnostic reports as a table: issued, test, laboratory, abnormal flag, review state."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from .chart_format import ALERT_RED, MUTED, ClinicClock

Index = QModelIndex | QPersistentModelIndex


class ReportsTableModel(QAbstractTableModel):
    HEADERS = ("Issued", "Test", "Laboratory", "Result", "Reviewed")

    def __init__(self, clock: ClinicClock, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.reports: list[Any] = []

    def set_reports(self, reports: list[Any]) -> None:
        self.beginResetModel()
        self.reports = list(reports)
        self.endResetModel()

    def report(self, row: int) -> Any:
        return self.reports[row] if 0 <= row < len(self.reports) else None

    def row_of(self, report_id: str) -> int:
        return next((i for i, r in enumerate(self.reports) if r.id == report_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.reports)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.reports):
            return None
        r, col = self.reports[index.row()], index.column()
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
