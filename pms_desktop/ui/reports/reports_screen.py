"""Reports screen (REPORTS permission): pick the report and the dates, see the table and the
chart (the same matplotlib figure the PDF prints), print it (system print dialog), save it as
PDF or export CSV. Every query, PDF and export runs off the GUI thread. Built as
``ReportsScreen(ctx, session, main_window)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...documents.report_pdf import ReportTable, build_chart_figure, format_cell
from ..billing.billing_format import tr
from ..billing.billing_screen import table_view
from ..billing.rows_table_model import SORT_ROLE, RowsTableModel
from ..ops import run_op
from ..widgets import printing
from ..widgets.dates import DAY

REPORTS = (
    ("revenue", "Revenue"),
    ("takings", "Daily takings (cash-up)"),
    ("day-sheet", "Day sheet"),
    ("aging", "Outstanding invoices (ageing)"),
    ("no-show", "No-show rate"),
    ("not-invoiced", "Completed, not invoiced"),
)
GROUPS = (("period", "by period"), ("practitioner", "by practitioner"), ("service", "by service"))


class ReportsScreen(QWidget):
    def __init__(self, ctx: Any, session: Any, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window = ctx, session, main_window
        self.setObjectName("reportsScreen")
        self.report: ReportTable | None = None
        self.canvas: FigureCanvasQTAgg | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(12, 10, 12, 8)  # as the appointment book: its tool bar is as full
        screen_title = QLabel(tr("Reports"))
        screen_title.setObjectName("screenTitle")  # like Patients, Waiting room, Administration
        title_row = QHBoxLayout()
        title_row.addWidget(screen_title)
        title_row.addStretch(1)
        v.addLayout(title_row)
        bar = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.setObjectName("reportKind")
        self.kind.setAccessibleName(tr("Report"))
        for key, label in REPORTS:
            self.kind.addItem(tr(label), key)
        self.group = QComboBox()
        self.group.setAccessibleName(tr("Group revenue"))
        for key, label in GROUPS:
            self.group.addItem(tr(label), key)
        self.kind.currentIndexChanged.connect(
            lambda _i: self.group.setVisible(self.kind.currentData() == "revenue")
        )
        today = QDate.currentDate()
        self.date_from = self._date(QDate(today.year(), today.month(), 1))
        self.date_to = self._date(today)
        self.run_button = QPushButton(tr("Show"))
        self.run_button.setShortcut(QKeySequence("Ctrl+R"))
        self.run_button.clicked.connect(self.run)
        self.print_button = QPushButton(tr("Print…"))
        self.print_button.clicked.connect(lambda: self.print_report())
        self.pdf_button = QPushButton(tr("Save PDF…"))
        self.pdf_button.clicked.connect(lambda: self.export("pdf"))
        self.csv_button = QPushButton(tr("Export CSV…"))
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        for w in (
            QLabel(tr("Report")),
            self.kind,
            self.group,
            QLabel(tr("from")),
            self.date_from,
            QLabel(tr("to")),
            self.date_to,
            self.run_button,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        v.addLayout(bar)
        # What to do with the report shown goes up beside the screen's title, as the book's
        # status key: in one row with the choices the tool bar was the widest of any screen and
        # held the window to 1364 pixels, wider than a 1280-pixel screen.
        for w in (self.print_button, self.pdf_button, self.csv_button):
            title_row.addWidget(w)
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 16px; font-weight: 600; color: #1f4e79")
        self.basis = QLabel()
        self.basis.setObjectName("reportBasis")
        self.basis.setStyleSheet("color: #5f6b7a")
        v.addWidget(self.title)
        v.addWidget(self.basis)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.chart_box = QWidget()
        self.chart_layout = QVBoxLayout(self.chart_box)
        self.chart_layout.setContentsMargins(0, 0, 0, 0)
        self.model = RowsTableModel([])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = table_view(self.proxy, "reportTable", 0)
        self.view.setSortingEnabled(False)  # the report's own order (periods, totals last) matters
        self.proxy.sort(-1)
        self.split.addWidget(self.chart_box)
        self.split.addWidget(self.view)
        v.addWidget(self.split, 1)
        self._set_export_enabled(False)
        self.chart_box.setVisible(False)  # until a report has a chart to show
        self.basis.setText(tr("Choose a report and the dates, then press Show."))

    def _date(self, value: QDate) -> QDateEdit:
        d = QDateEdit(value)
        d.setCalendarPopup(True)
        d.setDisplayFormat(DAY)  # as the subtitle: 1 Nov 2026
        return d

    def _set_export_enabled(self, on: bool) -> None:
        self.print_button.setEnabled(on)
        self.pdf_button.setEnabled(on)
        self.csv_button.setEnabled(on)

    def run(self) -> None:
        kind, group = self.kind.currentData(), self.group.currentData()
        d0, d1 = self.date_from.date().toPython(), self.date_to.date().toPython()
        self.run_button.setEnabled(False)

        def failed(e: BaseException) -> None:
            self.run_button.setEnabled(True)
            from ..errors import show_error

            show_error(self, e)

        run_op(
            self,
            lambda: self.ctx.reports.run(
                self.session, kind=kind, date_from=d0, date_to=d1, group_by=group
            ),
            self.show_report,
            failed,
            label=tr("Running the report…"),
        )

    def show_report(self, report: ReportTable) -> None:
        self.run_button.setEnabled(True)
        self.report = report
        self.title.setText(report.title)
        self.basis.setText(
            f"{format_cell(report.columns[0], report.date_from, report)} – "
            f"{format_cell(report.columns[0], report.date_to, report)} · {report.basis}"
        )
        cols = report.columns
        rows = [
            [format_cell(c, v, report) for c, v in zip(cols, r, strict=True)] for r in report.rows
        ]
        keys = [list(r) for r in report.rows]
        if report.totals is not None:
            total = zip(cols, report.totals, strict=True)
            rows.append([format_cell(c, v, report) for c, v in total])
            keys.append(["~"] * len(report.columns))
        self.model.set_rows(
            rows,
            None,
            keys,
            headers=[c.title for c in report.columns],
            numeric=[i for i, c in enumerate(report.columns) if c.numeric],
            bold_last=report.totals is not None,
        )
        self.view.resizeColumnsToContents()
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if self.canvas is not None:
            self.chart_layout.removeWidget(self.canvas)
            self.canvas.deleteLater()
            self.canvas = None
        fig = build_chart_figure(report)
        self.chart_box.setVisible(fig is not None)
        if fig is not None:
            self.canvas = FigureCanvasQTAgg(fig)
            self.canvas.setMinimumHeight(220)
            self.chart_layout.addWidget(self.canvas)
            self.split.setSizes([max(self.height() // 2, 260), max(self.height() // 2, 200)])
        self._set_export_enabled(True)

    def print_report(self, printer: QPrinter | None = None) -> None:
        """The report's PDF through the print dialog (``printer`` given: straight to it)."""
        report = self.report
        if report is None:
            return
        reports, who = self.ctx.reports, self.session
        printing.print_pdf(
            self,
            lambda: reports.export_pdf(who, report=report),
            report.title,
            lambda _n: self._status(tr("Report sent to the printer.")),
            printer=printer,
        )

    def export(self, fmt: str) -> None:
        report = self.report
        if report is None:
            return
        name = f"{report.kind}-{report.date_from.isoformat()}-{report.date_to.isoformat()}.{fmt}"
        reports, who = self.ctx.reports, self.session
        if fmt == "pdf":
            printing.save_pdf(
                self,
                lambda: reports.export_pdf(who, report=report),
                name,
                lambda p: self._status(tr("Report saved to {p}.").format(p=p)),
                caption=tr("Save the report"),
            )
            return
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export report"), name, tr("CSV files (*.csv)")
        )
        if not path:
            return
        target = Path(path if path.lower().endswith(".csv") else f"{path}.csv")

        def work() -> Path:
            return printing.write_file(
                target, reports.export_csv(who, report=report).encode("utf-8")
            )

        run_op(
            self,
            work,
            lambda p: self._status(tr("Report saved to {p}.").format(p=p)),
            label=tr("Exporting…"),
        )

    def _status(self, text: str) -> None:
        if self.main_window is not None and hasattr(self.main_window, "show_status"):
            self.main_window.show_status(text)
