"""The common part of the read-only table models that show one service DTO per row.

A subclass names its columns in ``HEADERS`` and answers ``data``; the row list, the counts, the
headers and the lookup of a row's item live here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class ItemTableModel(QAbstractTableModel):
    HEADERS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[Any] = []

    def reset_items(self, items: Iterable[Any]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def item(self, row: int) -> Any:
        return self.items[row] if 0 <= row < len(self.items) else None

    def item_at(self, index: Index) -> Any:
        """The row's item for a valid index, else None (``data`` starts with this)."""
        return self.item(index.row()) if index.isValid() else None

    def row_of(self, item_id: str) -> int:
        return next((i for i, x in enumerate(self.items) if getattr(x, "id", None) == item_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None
