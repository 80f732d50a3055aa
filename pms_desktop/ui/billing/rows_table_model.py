"""A small read-only table model: headers, display rows and a payload per row.

Used for lists whose cells are already text (appointments not invoiced, fee items, payments,
report rows); right-aligns the columns named numeric and sorts numbers by their raw value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class RowsTableModel(QAbstractTableModel):
    def __init__(
        self, headers: Sequence[str], numeric: Sequence[int] = (), parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self.numeric = set(numeric)
        self.rows: list[list[str]] = []
        self.payloads: list[Any] = []
        self.sort_keys: list[list[Any]] = []
        self.bold_last = False

    def set_rows(
        self,
        rows: Sequence[Sequence[str]],
        payloads: Sequence[Any] | None = None,
        sort_keys: Sequence[Sequence[Any]] | None = None,
        *,
        headers: Sequence[str] | None = None,
        numeric: Sequence[int] | None = None,
        bold_last: bool = False,
    ) -> None:
        self.beginResetModel()
        if headers is not None:
            self.headers = list(headers)
        if numeric is not None:
            self.numeric = set(numeric)
        self.rows = [list(r) for r in rows]
        self.payloads = list(payloads) if payloads is not None else [None] * len(self.rows)
        self.sort_keys = [list(k) for k in sort_keys] if sort_keys is not None else self.rows
        self.bold_last = bold_last
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not (0 <= section < len(self.headers)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in self.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        r, c = index.row(), index.column()
        if c >= len(self.rows[r]):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[r][c]
        if role == Qt.ItemDataRole.UserRole:
            return self.payloads[r]
        if role == SORT_ROLE:
            key = (
                self.sort_keys[r][c]
                if r < len(self.sort_keys) and c < len(self.sort_keys[r])
                else None
            )
            return key if isinstance(key, (int, str)) else self.rows[r][c]
        if role == Qt.ItemDataRole.TextAlignmentRole and c in self.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.bold_last and r == len(self.rows) - 1:
            from PySide6.QtGui import QFont

            f = QFont()
            f.setBold(True)
            return f
        return None

    def payload(self, row: int) -> Any:
        return self.payloads[row] if 0 <= row < len(self.payloads) else None
