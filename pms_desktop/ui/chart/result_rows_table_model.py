"""The observations of one report: value, unit, reference range, flag (abnormal in bold red)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from .chart_format import ALERT_RED, FLAG_TEXT, number, range_text

Index = QModelIndex | QPersistentModelIndex


class ResultRowsTableModel(QAbstractTableModel):
    HEADERS = ("Test", "Value", "Unit", "Reference range", "Flag")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        o, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            flag = o.interpretation or ""
            return (o.display, o.value_text or number(o.value), o.unit or "",
                    range_text(o.ref_low, o.ref_high),
                    f"{flag} {FLAG_TEXT.get(flag, '')}".strip() if flag != "N" else "")[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if o.abnormal and role == Qt.ItemDataRole.ForegroundRole and col in (0, 1, 4):
            return QColor(ALERT_RED)
        if o.abnormal and role == Qt.ItemDataRole.FontRole and col in (0, 1, 4):
            font = QFont()
            font.setBold(True)
            return font
        return None
