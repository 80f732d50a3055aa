"""Choose one patient: type a name, date of birth or phone, pick from the results.

Used wherever a task starts from "which patient?" outside the patient file (a standalone
invoice on the Billing screen, ...). It searches as the Patients screen does (``LiveSearch``: at
each keystroke, off the GUI thread, stale answers dropped); Enter or a double click takes the
highlighted patient, and Enter typed before the answer takes the first one found.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...services.patients_dto import PatientSummary
from ..errors import show_error
from .live_search import LiveSearch
from .patient_table_model import PatientTableModel


class PatientPickerDialog(QDialog):
    def __init__(self, ctx: Any, session: Any, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.chosen: PatientSummary | None = None
        self.setObjectName("patientPicker")
        self.setWindowTitle(title)
        self.resize(640, 420)
        v = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setObjectName("patientPickerSearch")
        self.search.setPlaceholderText(self.tr("Name, date of birth (dd/mm/yyyy) or phone"))
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(self.tr("Find the patient"))
        v.addWidget(self.search)
        self.model = PatientTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("patientPickerResults")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.hideColumn(5)
        header = self.table.horizontalHeader()  # at most 30 rows: sized to what they hold
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        v.addWidget(self.table, 1)
        self.note = QLabel(self.tr("Type at least two characters to search."))
        self.note.setStyleSheet("color: #5f6b7a")
        v.addWidget(self.note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Choose"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.choose_when_answered = False  # Enter typed while the search ran
        patients, who = ctx.patients, session
        self.live = LiveSearch(self, self.search, lambda text: (
            patients.search(who, text, limit=30) if len(text) >= 2 else []))
        self.live.answered.connect(self._answered)
        self.live.failed.connect(lambda e: show_error(self, e))
        self.search.returnPressed.connect(self._enter)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

    def _answered(self, text: str, rows: list[PatientSummary]) -> None:
        self._found(rows, quiet=len(text) < 2)
        if self.choose_when_answered:
            self.choose_when_answered = False
            self.accept()

    def _found(self, rows: list[PatientSummary], quiet: bool = False) -> None:
        self.model.set_rows(rows)
        if rows:
            self.table.selectRow(0)
            found = (self.tr("1 patient found.") if len(rows) == 1
                     else self.tr("%d patients found.") % len(rows))
            self.note.setText(found + " " + self.tr("Enter chooses the highlighted one."))
        else:
            self.chosen = None
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            self.note.setText(self.tr("Type at least two characters to search.") if quiet
                              else self.tr("No patient matches. Check the spelling or try the "
                                           "date of birth."))

    def _row_changed(self, current: Any, _previous: Any = None) -> None:
        self.chosen = self.model.patient(current.row())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.chosen is not None)

    def _enter(self) -> None:
        if self.live.busy():  # Enter before the answer: choose the first one found
            self.choose_when_answered = True
            return
        self.accept()

    def accept(self) -> None:
        if self.chosen is not None:
            super().accept()
