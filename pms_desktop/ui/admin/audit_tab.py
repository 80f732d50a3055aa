"""The access log window: filter by patient, user, action and dates; page through; export CSV;
verify the chain; print or save a patient's "who accessed this record" report. All off the GUI
thread."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets import printing
from ..widgets.dates import DAY
from .audit_table_model import AuditTableModel

PAGE = 200


def _date(edit: QDateEdit, enabled: QCheckBox) -> date | None:
    return edit.date().toPython() if enabled.isChecked() else None  # type: ignore[no-any-return]


class AuditTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, status: Any = None,
                 zone: str = "UTC") -> None:
        super().__init__()
        self.ctx, self.session, self.status = ctx, session, status
        self.model = AuditTableModel(zone)
        self.model.request_page = self._load_page
        self._search = 0  # which search the pages on their way belong to
        self._filters: dict[str, Any] = {}  # the current search's, for its later pages
        self.patient = QLineEdit()
        self.patient.setPlaceholderText(self.tr("Patient id"))
        self.patient.setAccessibleName(self.tr("Filter by patient"))
        self.user = QLineEdit()
        self.user.setPlaceholderText(self.tr("User name"))
        self.user.setAccessibleName(self.tr("Filter by user"))
        self.action = QLineEdit()
        self.action.setPlaceholderText(self.tr("Action, e.g. auth."))
        self.action.setAccessibleName(self.tr("Filter by action"))
        today = QDate.currentDate()
        self.use_from, self.use_to = QCheckBox(self.tr("From")), QCheckBox(self.tr("to"))
        self.date_from, self.date_to = QDateEdit(today.addDays(-30)), QDateEdit(today)
        for edit, use in ((self.date_from, self.use_from), (self.date_to, self.use_to)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(DAY)
            edit.setEnabled(False)  # a date the search leaves out is not one to change
            use.toggled.connect(edit.setEnabled)
        search = QPushButton(self.tr("Search"))
        search.setProperty("primary", True)
        search.clicked.connect(self.search)
        for edit in (self.patient, self.user, self.action):
            edit.returnPressed.connect(self.search)
        filters = QHBoxLayout()
        for w in (self.patient, self.user, self.action, self.use_from, self.date_from, self.use_to,
                  self.date_to, search):
            filters.addWidget(w)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.export_button = QPushButton(self.tr("Export CSV…"))
        self.export_button.clicked.connect(self._export_dialog)
        self.verify_button = QPushButton(self.tr("Verify chain"))
        self.verify_button.clicked.connect(self.verify)
        self.report_button = QPushButton(self.tr("Access report"))
        self.report_button.setToolTip(self.tr("Who accessed the patient in the patient filter"))
        report_menu = QMenu(self.report_button)
        report_menu.addAction(self.tr("Print…"), lambda: self.print_access_report())
        report_menu.addAction(self.tr("Save as PDF…"), lambda: self.save_access_report())
        self.report_button.setMenu(report_menu)
        self.verdict = QLabel()
        self.verdict.setObjectName("chainVerdict")
        self.verdict.setMinimumWidth(160)
        actions = QHBoxLayout()
        actions.addWidget(self.summary)
        actions.addStretch(1)
        actions.addWidget(self.verdict)
        for w in (self.verify_button, self.export_button, self.report_button):
            actions.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table)
        layout.addLayout(actions)
        self.search()

    def filters(self) -> dict[str, Any]:
        return dict(patient_id=self.patient.text().strip() or None,
                    username=self.user.text().strip() or None,
                    action=self.action.text().strip() or None,
                    date_from=_date(self.date_from, self.use_from),
                    date_to=_date(self.date_to, self.use_to))

    def search(self) -> None:
        """A new search: its filters are kept for its later pages, and a page of an earlier
        search still on its way is dropped (it would add rows of other filters, or twice)."""
        self._search += 1
        self._filters = self.filters()
        self.model.reset()
        self.model.loading = True
        self._load_page(0)

    def _load_page(self, offset: int) -> None:
        audit, who, f, search = self.ctx.audit, self.session, self._filters, self._search

        def loaded(page: Any) -> None:
            if search != self._search:
                return
            self.model.append_page(page)
            found = self.tr("{n} entries found") if page.total != 1 else self.tr("{n} entry found")
            self.summary.setText(found.format(n=page.total))

        def failed(error: BaseException) -> None:
            if search != self._search:
                return
            self.model.loading = False
            from ..errors import show_error
            show_error(self, error)

        run_op(self, lambda: audit.search(who, offset=offset, limit=PAGE, **f), loaded, failed)

    def export_csv(self, path: Path) -> None:
        audit, who, f = self.ctx.audit, self.session, self.filters()
        run_op(self, lambda: audit.export_csv(who, out=path, **f),
               lambda n: self._status(
                   self.tr("Exported {n} entries to {file}.").format(n=n, file=path.name)),
               label=self.tr("Exporting the access log…"))

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export the access log"),
                                              "access-log.csv", "CSV (*.csv)")
        if path:
            self.export_csv(Path(path))

    def verify(self) -> None:
        self.verdict.setText(self.tr("Checking…"))
        audit, who = self.ctx.audit, self.session
        run_op(self, lambda: audit.verify(who), self._verified,
               label=self.tr("Verifying the access log…"))

    def _verified(self, check: Any) -> None:
        if check.intact:
            # the whole log, whatever the search shows ('4 entries found' beside it)
            self.verdict.setText(self.tr("✓ Chain intact (all {n} entries)").format(n=check.count))
            self.verdict.setStyleSheet("color: #2e7d32; font-weight: 600;")
        else:
            self.verdict.setText(self.tr("✗ Chain broken at entry {seq}: {why}").format(
                seq=check.first_bad_seq, why=check.problem))
            self.verdict.setStyleSheet("color: #b3261e; font-weight: 600;")

    def _report_patient(self) -> str | None:
        patient = self.patient.text().strip()
        if not patient:
            self.patient.setFocus()
            self._status(self.tr("Enter the patient's id in the patient filter first."))
            return None
        return patient

    def print_access_report(self, printer: QPrinter | None = None) -> None:
        """Through the print dialog (``printer`` given: straight to it)."""
        patient = self._report_patient()
        if patient is None:
            return
        audit, who = self.ctx.audit, self.session
        printing.print_pdf(self, lambda: audit.access_report_pdf(who, patient_id=patient),
                           self.tr("access report"),
                           lambda _n: self._status(self.tr("Access report sent to the printer.")),
                           printer=printer)

    def save_access_report(self, path: Path | None = None) -> None:
        """Ask where to save (``path`` given: there)."""
        patient = self._report_patient()
        if patient is None:
            return
        audit, who = self.ctx.audit, self.session
        printing.save_pdf(
            self, lambda: audit.access_report_pdf(who, patient_id=patient), "access-report.pdf",
            lambda p: self._status(
                self.tr("Saved the access report to {file}.").format(file=p.name)),
            path=path, caption=self.tr("Save the access report"))

    def _status(self, text: str) -> None:
        if self.status is not None:
            self.status(text)
        else:
            self.summary.setText(text)
