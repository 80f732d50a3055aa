"""Results: reports from the laboratory with their values, reference ranges and flags.

A clinician marks a report as reviewed; unreviewed reports stay bold in the list.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..errors import show_error
from ..ops import Generation, run_op
from ..widgets.placeholder_table_view import PlaceholderTableView
from .chart_format import MUTED, ClinicClock
from .reports_table_model import ReportsTableModel
from .result_rows_table_model import ResultRowsTableModel


def _table(name: str) -> PlaceholderTableView:
    table = PlaceholderTableView()
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class ResultsTab(QWidget):
    reviewed = Signal(str)  # report id

    def __init__(self, ctx: Any, session: Any, patient_id: str, clock: ClinicClock,
                 can_write: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.patient_id, self.clock = ctx, session, patient_id, clock
        self.can_write = can_write
        self._gen = Generation()  # bumped when another patient is shown
        self.reports = ReportsTableModel(clock, self)
        self.rows = ResultRowsTableModel(self)
        self.report_table = _table("reportsTable")
        self.report_table.setModel(self.reports)
        self.report_table.selectionModel().currentRowChanged.connect(lambda cur, _p: self._show())
        self.row_table = _table("resultRowsTable")
        self.row_table.setModel(self.rows)
        self.heading = QLabel()
        self.heading.setObjectName("reportHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.review_button = QPushButton(self.tr("Mark reviewed"))
        self.review_button.setObjectName("markReviewed")
        self.review_button.setProperty("primary", True)
        self.review_button.clicked.connect(self.mark_reviewed)
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.review_button)
        lower = QWidget()
        lv = QVBoxLayout(lower)
        lv.setContentsMargins(0, 6, 0, 0)
        lv.addLayout(head)
        lv.addWidget(self.row_table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.report_table)
        split.addWidget(lower)
        split.setSizes([160, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(split)
        self._show()

    def set_patient(self, patient_id: str) -> None:
        """Another patient: no reports until their chart loads."""
        self._gen.bump()
        self.patient_id = patient_id
        self.report_table.clearSelection()
        self.report_table.set_placeholder("")  # nothing said until their chart has loaded
        self.reports.set_reports([])
        self._show()

    def set_reports(self, reports: list[Any]) -> None:
        current = self.current()
        self.reports.set_reports(reports)
        self.report_table.set_placeholder(self.tr("No results received for this patient."))
        row = self.reports.row_of(current.id) if current else -1
        self.report_table.selectRow(row if row >= 0 else 0)
        self._show()

    def current(self) -> Any:
        return self.reports.report(self.report_table.currentIndex().row())

    def _show(self) -> None:
        r = self.current()
        self.rows.set_rows(r.observations if r else [])
        if r is None:
            self.heading.setText(f"<span style='color:{MUTED}'>{self.tr('No results')}</span>")
        else:
            state = (self.tr("Reviewed by %s on %s") % (r.reviewed_by_name,
                                                        self.clock.date(r.reviewed_at))
                     if r.reviewed_at else self.tr("Not yet reviewed"))
            conclusion = f"<br>{r.conclusion}" if r.conclusion else ""
            self.heading.setText(f"<b>{r.display}</b> &nbsp;<span style='color:{MUTED}'>"
                                 f"{r.performer or ''} · {self.clock.date_time(r.issued_at)} · "
                                 f"{state}</span>{conclusion}")
        self.review_button.setEnabled(bool(r and not r.reviewed_at and self.can_write))

    def mark_reviewed(self) -> None:
        r = self.current()
        if r is None or r.reviewed_at:
            return
        clinical, who, pid = self.ctx.clinical, self.session, self.patient_id
        self.review_button.setEnabled(False)
        run_op(self, lambda: clinical.mark_reviewed(who, patient_id=pid, report_id=r.id),
               self._gen.guard(self._reviewed),
               self._gen.guard(self._failed, lambda e: show_error(self, e)))

    def _failed(self, error: BaseException) -> None:
        self._show()
        show_error(self, error)

    def _reviewed(self, report: Any) -> None:
        row = self.reports.row_of(report.id)
        if row >= 0:
            self.reports.reports[row] = report
            self.reports.dataChanged.emit(self.reports.index(row, 0),
                                          self.reports.index(row, len(self.reports.HEADERS) - 1))
        self._show()
        self.reviewed.emit(report.id)
