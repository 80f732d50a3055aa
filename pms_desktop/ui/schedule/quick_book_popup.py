"""Booking from the keyboard: type a surname in a slot, Enter, pick the patient, done.

A small panel over the chosen slot: a search line and the matching patients. Enter books the
only match (or the highlighted one); Esc closes; "More…" opens the full booking dialog. It
searches as the Patients screen does (``LiveSearch``: at once on each keystroke; Enter typed
before the answer books when it comes).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..errors import show_error
from ..patients.live_search import LiveSearch
from ..patients.patient_table_model import PatientTableModel


class QuickBookPopup(QFrame):
    patient_picked = Signal(str)
    more_requested = Signal(str)  # the text typed so far
    results_shown = Signal()

    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.setObjectName("quickBook")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "QFrame#quickBook { background: white; border: 1px solid #1f6f8b; border-radius: 6px; }"
        )
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self.line = QLineEdit()
        self.line.setObjectName("quickBookSearch")
        self.line.setPlaceholderText(self.tr("Surname, name, date of birth or phone"))
        self.line.installEventFilter(self)
        self.model = PatientTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        for col in (2, 3, 5):
            self.table.hideColumn(col)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(lambda i: self._pick(i.row()))
        self.table.installEventFilter(self)
        more = QPushButton(self.tr("More options…"))
        more.clicked.connect(lambda: self.more_requested.emit(self.line.text()))
        hint = QLabel(self.tr("Enter books · Esc closes"))
        hint.setObjectName("muted")
        bottom = QHBoxLayout()
        bottom.addWidget(hint)
        bottom.addStretch(1)
        bottom.addWidget(more)
        v = QVBoxLayout(self)
        v.addWidget(self.title)
        v.addWidget(self.line)
        v.addWidget(self.table)
        v.addLayout(bottom)
        patients, who = ctx.patients, session
        self.live = LiveSearch(self, self.line, lambda text: patients.search(who, text, limit=20))
        self.live.answered.connect(self._shown)
        self.live.failed.connect(self._failed)
        self._enter_pending = False
        self.resize(420, 300)

    def start(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.model.set_rows([])
        self.live.drop_answers()  # a search from the last time the panel was open
        self._enter_pending = False
        if self.line.text() == text:
            self.live.run()  # no change, no textChanged: the results were cleared above
        self.line.setText(text)
        self.show()
        self.raise_()
        self.line.setFocus()
        self.line.end(False)

    def search(self) -> None:
        self.live.run()

    def _shown(self, text: str, rows: list[Any]) -> None:
        self.model.set_rows(rows)
        if not text:
            return
        if rows:
            self.table.selectRow(0)
        self.results_shown.emit()
        if self._enter_pending:
            self._enter_pending = False
            self._enter()

    def _failed(self, error: BaseException) -> None:
        self._enter_pending = False
        show_error(self, error)

    def _enter(self) -> None:
        if self.live.busy():  # typed faster than the search: book when it answers
            self._enter_pending = True
            return
        if self.model.rowCount() == 1:
            self._pick(0)
        elif self.model.rowCount() > 1:
            self.table.setFocus()
        elif not self.line.text().strip():
            self.more_requested.emit("")

    def _pick(self, row: int) -> None:
        p = self.model.patient(row)
        if p is not None:
            self.hide()
            self.patient_picked.emit(p.id)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
            if obj is self.line and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._enter()
                return True
            if obj is self.line and key == Qt.Key.Key_Down and self.model.rowCount():
                self.table.setFocus()
                return True
            if obj is self.table and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._pick(self.table.currentIndex().row())
                return True
        return super().eventFilter(obj, event)
