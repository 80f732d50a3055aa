"""Table model of patient summaries (search results, recent patients, merge candidates)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ...services.patients_dto import PatientSummary
from ..widgets.dates import day_text, long_day_text

Index = QModelIndex | QPersistentModelIndex
SEX = {"female": "F", "male": "M", "other": "Other", "unknown": "—"}


class PatientTableModel(QAbstractTableModel):
    HEADERS = ("Name", "Date of birth", "Age", "Sex", "Phone", "Identifiers")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[PatientSummary] = []

    def set_rows(self, rows: list[PatientSummary]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def patient(self, row: int) -> PatientSummary | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        p = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                p.display_name,
                day_text(p.birth_date),
                str(p.age),
                SEX.get(p.sex, p.sex),
                p.phone,
                p.identifiers,
            )[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return p.id
        if role == Qt.ItemDataRole.AccessibleTextRole and index.column() == 0:
            # The month in full: a screen reader says 'Jan' as a name ("born 4 Jan 2001").
            return f"{p.given} {p.family}, born {long_day_text(p.birth_date)}"
        return None
