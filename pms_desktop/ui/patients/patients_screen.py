"""Find a patient: one search box, results as you type, Enter opens a unique match.

Each keystroke searches at once (``LiveSearch``: keys typed while a search runs are searched
together when it answers, and an answer to text that has changed since is dropped).
The Down arrow in an empty box lists the patients this user opened recently.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.permissions import Permission, allows
from ...domain.session import StaffSession
from ..errors import show_error
from ..ops import run_op
from .live_search import LiveSearch
from .patient_table_model import PatientTableModel


class PatientsScreen(QWidget):
    results_shown = Signal(str)  # the query the results answer ("" for recent patients)
    patient_chosen = Signal(str)

    def __init__(self, ctx: Any, session: StaffSession, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window = ctx, session, main_window
        self.model = PatientTableModel(self)
        self._open_single = False  # Enter pressed before the answer came: open a unique match
        self._build()
        patients, who = ctx.patients, session
        self.live = LiveSearch(self, self.search, lambda text: patients.search(who, text))
        self.live.answered.connect(self._answered)
        self.live.failed.connect(self._failed)

    def _build(self) -> None:
        title = QLabel(self.tr("Patients"))
        title.setObjectName("screenTitle")
        self.new_button = QPushButton(self.tr("New patient…"))
        self.new_button.setProperty("primary", True)
        self.new_button.setShortcut("Ctrl+Shift+N")
        self.new_button.setToolTip(self.tr("Register a new patient (Ctrl+Shift+N)"))
        self.new_button.clicked.connect(self.register_new)
        self.new_button.setVisible(allows(self.session.role, Permission.WRITE_DEMOGRAPHICS))
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.new_button)
        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(
            self.tr("Search by name, date of birth, phone or MRN   (↓ recent patients)")
        )
        self.search.setAccessibleName(self.tr("Find a patient"))
        self.search.installEventFilter(self)
        self.search.returnPressed.connect(self._enter)
        self.table = QTableView()
        self.table.setObjectName("patientResults")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(lambda index: self.open_row(index.row()))
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.status = QLabel(
            self.tr("Type to search. Press ↓ for the patients you opened recently.")
        )
        self.status.setObjectName("muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        layout.addLayout(head)
        layout.addWidget(self.search)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    # --- searching -------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def run_search(self) -> None:
        self.live.run()

    def _answered(self, text: str, rows: list[Any]) -> None:
        if not text:
            self.model.set_rows([])
            self.status.setText(
                self.tr("Type to search. Press ↓ for the patients you opened recently.")
            )
            return
        self._show(text, rows)

    def _failed(self, error: BaseException) -> None:
        self._open_single = False
        show_error(self, error)

    def show_recent(self) -> None:
        self.live.drop_answers()  # the recent list replaces the results of a search under way
        gen, live = self.live.generation, self.live
        patients, who = self.ctx.patients, self.session
        run_op(
            self,
            lambda: patients.recent_patients(who),
            lambda rows: self._show("", rows) if gen == live.generation else None,
        )

    def _show(self, text: str, rows: list[Any]) -> None:
        self.model.set_rows(rows)
        if text:
            n = len(rows)
            self.status.setText(
                self.tr("No patient found.")
                if n == 0
                else self.tr("One patient: press Enter to open.")
                if n == 1
                else self.tr("%n patients found.", "", n)
                + ("" if n < 50 else self.tr(" Showing the first 50: type more."))
            )
        else:
            self.status.setText(
                self.tr("Recently opened patients") if rows else self.tr("No recent patients yet.")
            )
        if rows:
            self.table.selectRow(0)
        self.results_shown.emit(text)
        if self._open_single:
            self._open_single = False
            if self.model.rowCount() == 1:
                self.open_row(0)

    def _enter(self) -> None:
        if self.live.busy():  # typed faster than the search: decide when it answers
            self._open_single = True
            return
        if self.model.rowCount() == 1:
            self.open_row(0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            key = QKeyEvent(event).key() if not isinstance(event, QKeyEvent) else event.key()
            if key == Qt.Key.Key_Down:
                if not self.search.text().strip():
                    self.show_recent()
                self.table.setFocus()
                if self.model.rowCount() and not self.table.currentIndex().isValid():
                    self.table.selectRow(0)
                return True
        return super().eventFilter(obj, event)

    # --- opening and registering -------------------------------------------------------------

    def open_row(self, row: int) -> None:
        p = self.model.patient(row)
        if p is None:
            return
        self.patient_chosen.emit(p.id)
        if self.main_window is not None:
            self.main_window.open_patient(p.id)

    def register_new(self) -> None:
        from ..patients.patient_edit_dialog import PatientEditDialog

        dialog = PatientEditDialog(self.ctx, self.session, None, self)
        text = self.search.text().strip()
        if text and not any(ch.isdigit() for ch in text):
            dialog.prefill_name(text)
        dialog.patient_saved.connect(self._saved)
        dialog.open_instead.connect(self._open_id)
        dialog.open()
        self.dialog = dialog

    def _saved(self, patient_id: str) -> None:
        if self.main_window is not None:
            self.main_window.show_status(self.tr("Patient registered."))
        self._open_id(patient_id)

    def _open_id(self, patient_id: str) -> None:
        self.patient_chosen.emit(patient_id)
        if self.main_window is not None:
            self.main_window.open_patient(patient_id)
