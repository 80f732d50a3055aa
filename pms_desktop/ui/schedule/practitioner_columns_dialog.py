"""Choose which practitioners appear as columns in the book, and in what order (per user)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)


class PractitionerColumnsDialog(QDialog):
    chosen = Signal(object)  # list of practitioner ids in order, or None for everyone

    def __init__(
        self, practitioners: list[Any], current: list[str] | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Columns of the appointment book"))
        hint = QLabel(self.tr("Tick the practitioners to show; drag them into the order you want."))
        hint.setWordWrap(True)
        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        by_id = {p.id: p for p in practitioners}
        order = [i for i in (current or []) if i in by_id] + [
            p.id for p in practitioners if p.id not in (current or [])
        ]
        for pid in order:
            item = QListWidgetItem(by_id[pid].name)
            item.setData(Qt.ItemDataRole.UserRole, pid)
            item.setFlags(
                item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled
            )
            shown = current is None or pid in current
            item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(hint)
        v.addWidget(self.list)
        v.addWidget(buttons)

    def selection(self) -> list[str]:
        return [
            self.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _ok(self) -> None:
        ids = self.selection()
        self.chosen.emit(ids or None)
        self.accept()
