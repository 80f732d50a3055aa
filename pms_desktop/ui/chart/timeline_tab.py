"""The timeline tab: every encounter, signed note, vitals set and result, newest first.

The kind filter works on the loaded rows (a proxy model), so switching it costs no query.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .chart_format import MUTED, ClinicClock
from .timeline_table_model import KIND_ROLE, TimelineTableModel

FILTERS = (("", "All"), ("encounter", "Encounters"), ("note", "Notes"), ("vitals", "Vitals"),
           ("result", "Results"))


class _KindFilter(QSortFilterProxyModel):
    kind = ""

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self.kind:
            return True
        return self.sourceModel().index(row, 0, parent).data(KIND_ROLE) == self.kind


class TimelineTab(QWidget):
    entry_activated = Signal(str, str)  # kind, ref id

    def __init__(self, clock: ClinicClock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TimelineTableModel(clock, self)
        self.proxy = _KindFilter(self)
        self.proxy.setSourceModel(self.model)
        self.buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        for kind, label in FILTERS:
            button = QPushButton(self.tr(label))
            button.setCheckable(True)
            button.setObjectName(f"filter_{kind or 'all'}")
            button.setChecked(not kind)
            button.clicked.connect(lambda _c=False, k=kind: self.set_kind(k))
            self.buttons.addButton(button)
            bar.addWidget(button)
        bar.addStretch(1)
        self.count = QLabel()
        self.count.setStyleSheet(f"color: {MUTED};")
        bar.addWidget(self.count)
        self.table = QTableView()
        self.table.setObjectName("timelineTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

    def set_entries(self, entries: list[Any]) -> None:
        self.model.set_entries(entries)
        self._update_count()

    def clear(self) -> None:
        """No entries, every kind shown (another patient is being opened)."""
        self.set_entries([])
        self.set_kind("")
        self.table.clearSelection()

    def set_kind(self, kind: str) -> None:
        self.proxy.kind = kind
        self.proxy.invalidate()
        for button in self.buttons.buttons():
            button.setChecked(button.objectName() == f"filter_{kind or 'all'}")
        self._update_count()

    def visible_kinds(self) -> list[str]:
        return [self.proxy.index(r, 0).data(KIND_ROLE) for r in range(self.proxy.rowCount())]

    def _update_count(self) -> None:
        self.count.setText(self.tr("%n entries", "", self.proxy.rowCount()))

    def _activated(self, index: QModelIndex) -> None:
        entry = self.model.entry(self.proxy.mapToSource(index).row())
        if entry is not None:
            self.entry_activated.emit(entry.kind, entry.ref_id)
