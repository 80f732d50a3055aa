"""Staff accounts as a table (model/view)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

ROLE_NAMES = {"reception": "Reception", "clinician": "Clinician",
              "practice_manager": "Practice manager", "clinic_admin": "Clinic admin"}

Index = QModelIndex | QPersistentModelIndex


class UsersTableModel(QAbstractTableModel):
    HEADERS = ("Name", "User name", "Role", "Two-step", "Status")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

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
        u = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return u.display_name
            if col == 1:
                return u.username
            if col == 2:
                return ROLE_NAMES.get(u.role.value, u.role.value)
            if col == 3:
                return self.tr("On") if u.totp_enabled else self.tr("Not set up")
            if col == 4:
                if not u.active:
                    return self.tr("Disabled")
                return self.tr("Locked") if u.locked_until else self.tr("Active")
        if role == Qt.ItemDataRole.ForegroundRole and (
                not u.active or (col == 3 and not u.totp_enabled)):
            return QColor("#8a4b00") if u.active else QColor("#7d8a96")
        if role == Qt.ItemDataRole.UserRole:
            return u
        return None

    def user_at(self, row: int) -> Any:
        return self.rows[row] if 0 <= row < len(self.rows) else None
