"""Merge two records of the same person: find the duplicate, compare, give a reason, confirm.

Everything of the duplicate moves to the record kept; the duplicate is deactivated, and a clinic
admin can undo the merge.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets.dates import day_text
from .patient_table_model import PatientTableModel


class MergeDialog(QDialog):
    merged = Signal(object)

    def __init__(
        self, ctx: Any, session: StaffSession, survivor_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.survivor_id = ctx, session, survivor_id
        self.setWindowTitle(self.tr("Merge a duplicate record into this patient"))
        self.model = PatientTableModel(self)
        intro = QLabel(
            self.tr(
                "Find the duplicate record. Its appointments, notes, results, invoices and "
                "payments will move to the patient open now; the duplicate is deactivated. "
                "A clinic admin can undo a merge."
            )
        )
        intro.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setPlaceholderText(
            self.tr("Name, date of birth, phone or MRN of the duplicate")
        )
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(150)
        self.timer.timeout.connect(self._search)
        self.search.textChanged.connect(lambda _t: self.timer.start())
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(
            self.tr("Reason (for example: registered twice at front desk)")
        )
        buttons = QDialogButtonBox()
        self.merge_button = buttons.addButton(
            self.tr("Merge records"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.merge_button.setProperty("primary", True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.confirm)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        for w in (intro, self.search, self.table, QLabel(self.tr("Reason")), self.reason, buttons):
            v.addWidget(w)
        self.resize(760, 480)

    def _search(self) -> None:
        text, patients, who = self.search.text().strip(), self.ctx.patients, self.session
        run_op(
            self,
            lambda: [p for p in patients.search(who, text) if p.id != self.survivor_id],
            self.model.set_rows,
        )

    def confirm(self) -> None:
        chosen = self.model.patient(self.table.currentIndex().row())
        if chosen is None:
            QMessageBox.information(
                self, self.windowTitle(), self.tr("Choose the duplicate record first.")
            )
            return
        answer = QMessageBox.question(
            self,
            self.windowTitle(),
            self.tr("Move everything of %s (born %s) into this patient and deactivate that record?")
            % (chosen.display_name, day_text(chosen.birth_date)),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.merge(chosen.id)

    def merge(self, merged_id: str) -> None:
        patients, who, keep, reason = (
            self.ctx.patients,
            self.session,
            self.survivor_id,
            self.reason.text(),
        )
        run_op(
            self,
            lambda: patients.merge_patients(
                who, survivor_id=keep, merged_id=merged_id, reason=reason
            ),
            self._done,
            label=self.tr("Merging…"),
        )

    def _done(self, info: Any) -> None:
        self.merged.emit(info)
        self.accept()
