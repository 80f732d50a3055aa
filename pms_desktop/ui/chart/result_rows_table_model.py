"""The observations of one report: value, unit, reference range, flag (abnormal in bold red)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from ..widgets.item_table_model import ItemTableModel
from .chart_format import ALERT_RED, FLAG_TEXT, number, range_text

Index = QModelIndex | QPersistentModelIndex


class ResultRowsTableModel(ItemTableModel):
    HEADERS = ("Test", "Value", "Unit", "Reference range", "Flag")


    @property
    def rows(self) -> list[Any]:
        return self.items
    def set_rows(self, rows: list[Any]) -> None:
        self.reset_items(rows)




    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        o, col = self.item_at(index), index.column()
        if o is None:
            return None
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
