"""Access-log entries as a table, fetched a page at a time (``canFetchMore``/``fetchMore``).

Pages are loaded off the GUI thread by the audit tab, which hands them to ``append_page``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ..widgets.dates import day_time_text

Index = QModelIndex | QPersistentModelIndex


class AuditTableModel(QAbstractTableModel):
    HEADERS = ("#", "Time", "User", "Role", "Action", "Outcome", "Patient", "Reason",
               "Workstation")

    def __init__(self, zone: str = "UTC") -> None:
        super().__init__()
        self.rows: list[Any] = []
        self.total = 0
        self.zone = ZoneInfo(zone)
        self.loading = False
        self.request_page: Callable[[int], None] | None = None

    def reset(self) -> None:
        self.beginResetModel()
        self.rows, self.total = [], 0
        self.endResetModel()

    def append_page(self, page: Any) -> None:
        self.loading = False
        self.total = page.total
        if not page.entries:
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(page.entries) - 1)
        self.rows.extend(page.entries)
        self.endInsertRows()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008,N802
        return not parent.isValid() and not self.loading and len(self.rows) < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008,N802
        if self.canFetchMore(parent) and self.request_page is not None:
            self.loading = True
            self.request_page(len(self.rows))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                e.seq, day_time_text(e.at.astimezone(self.zone), seconds=True), e.username or "",
                (e.role or "").replace("_", " "), e.action, e.outcome, (e.patient_id or "")[:8],
                ("⚠ " + (e.reason or "")) if e.break_glass else (e.reason or ""),
                e.workstation_name or e.workstation_id[:8],
            )[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole:
            if e.break_glass or e.outcome in ("refused", "failure"):
                return QColor("#b3261e")
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 6:
            return e.patient_id
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 8:
            return e.workstation_id
        if role == Qt.ItemDataRole.UserRole:
            return e
        return None
