"""AppointmentTypesTab: the clinic's appointment types (Administration › Appointment types).

Add, edit (name, length, colour) and retire or reinstate; a retired type stays on the
appointments that used it and is no longer offered for new bookings.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets.change_bus import change_bus
from ..widgets.item_table_model import Index, ItemTableModel
from .appointment_type_dialog import AppointmentTypeDialog, swatch


class AppointmentTypesTableModel(ItemTableModel):
    HEADERS = ("Name", "Length", "Status")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        t = self.item_at(index)
        if t is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (t.name, self.tr("{n} min").format(n=t.duration_minutes),
                    self.tr("In use") if t.active else self.tr("Retired"))[col]
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return swatch(t.colour)
        if role == Qt.ItemDataRole.ForegroundRole and not t.active:
            return QColor("#7d8a96")
        return None


class AppointmentTypesTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, status: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.status = ctx, session, status
        self.setObjectName("appointmentTypesTab")
        self.all_types: list[Any] = []
        self.model = AppointmentTypesTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("appointmentTypesTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(110)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _i: self.edit_type())
        self.add_button = QPushButton(self.tr("Add…"))
        self.add_button.setProperty("primary", True)
        self.add_button.clicked.connect(self.add_type)
        self.edit_button = QPushButton(self.tr("Edit…"))
        self.edit_button.clicked.connect(self.edit_type)
        self.retire_button = QPushButton(self.tr("Retire"))
        self.retire_button.clicked.connect(self.toggle_retired)
        self.show_retired = QCheckBox(self.tr("Show retired types"))
        self.show_retired.toggled.connect(lambda _on: self._show())
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._buttons())
        bar = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.retire_button):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(self.show_retired)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._buttons()
        change_bus(ctx).changed.connect(self._on_changed)
        self.reload()

    def _on_changed(self, topic: str, _info: dict[str, Any]) -> None:
        if topic.startswith("sync."):  # types added or edited on another workstation
            self.reload()

    def reload(self) -> None:
        sched, who = self.ctx.scheduling, self.session
        run_op(self, lambda: sched.all_appointment_types(who), self._loaded)

    def _loaded(self, types: list[Any]) -> None:
        self.all_types = list(types)
        self._show()

    def _show(self) -> None:
        keep = self.selected()
        shown = [t for t in self.all_types if t.active or self.show_retired.isChecked()]
        self.model.reset_items(shown)
        if keep is not None and (row := self.model.row_of(keep.id)) >= 0:
            self.table.selectRow(row)
        self._buttons()

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.model.item(rows[0].row()) if rows else None

    def _buttons(self) -> None:
        t = self.selected()
        self.edit_button.setEnabled(t is not None)
        self.retire_button.setEnabled(t is not None)
        self.retire_button.setText(self.tr("Reinstate") if t is not None and not t.active
                                   else self.tr("Retire"))

    def add_type(self) -> None:
        self._open(AppointmentTypeDialog(self.ctx, self.session, self))

    def edit_type(self) -> None:
        t = self.selected()
        if t is not None:
            self._open(AppointmentTypeDialog(self.ctx, self.session, self, existing=t))

    def _open(self, dialog: AppointmentTypeDialog) -> None:
        self.dialog = dialog

        def saved() -> None:
            self.reload()
            self._status(self.tr("Appointment type “{name}” saved.").format(name=dialog.saved.name))

        dialog.accepted.connect(saved)
        dialog.open()

    def toggle_retired(self) -> None:
        t = self.selected()
        if t is None:
            return
        sched, who = self.ctx.scheduling, self.session
        if t.active:
            fn, text = (lambda: sched.retire_appointment_type(who, type_id=t.id),
                        self.tr("“{name}” retired: no longer offered for new bookings."))
        else:
            fn, text = (lambda: sched.reinstate_appointment_type(who, type_id=t.id),
                        self.tr("“{name}” is offered for bookings again."))

        def done(_r: Any) -> None:
            self.reload()
            self._status(text.format(name=t.name))

        run_op(self, fn, done)

    def _status(self, text: str) -> None:
        if self.status is not None:
            self.status(text)
