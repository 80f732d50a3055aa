"""Table model of invoice summaries (list screens and the patient's account)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ...services.billing_dto import InvoiceSummary
from .billing_format import STATUSES, Money, tr

Index = QModelIndex | QPersistentModelIndex


class InvoiceTableModel(QAbstractTableModel):
    HEADERS = (
        "Number",
        "Date",
        "Patient",
        "Practitioner",
        "Status",
        "Total",
        "Paid",
        "Outstanding",
    )
    MONEY_COLS = (5, 6, 7)

    def __init__(self, money: Money, parent: Any = None) -> None:
        super().__init__(parent)
        self.money = money
        self.items: list[InvoiceSummary] = []

    def set_items(self, items: list[InvoiceSummary]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return tr(self.HEADERS[section])
        if role == Qt.ItemDataRole.TextAlignmentRole and section in self.MONEY_COLS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self.items)):
            return None
        inv = self.items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                inv.number or tr("(draft)"),
                self.money.day(inv.issued_at or inv.created_at),
                inv.patient_name,
                inv.practitioner_name or "",
                tr(STATUSES.get(inv.status, inv.status)),
                self.money(inv.total_minor),
                self.money(inv.paid_minor),
                self.money(inv.outstanding_minor),
            )[col]
        if role == Qt.ItemDataRole.UserRole:
            return inv
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.MONEY_COLS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if inv.status == "void":
                return QColor("#8a94a0")
            if col == 7 and inv.outstanding_minor > 0:
                return QColor("#b3261e")
        return None

    def invoice_at(self, row: int) -> InvoiceSummary | None:
        return self.items[row] if 0 <= row < len(self.items) else None
