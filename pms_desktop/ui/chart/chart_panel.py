"""The clinical chart of one patient: summary column on the left, work tabs on the right.

Built by the patient file as ``ChartPanel(ctx, session, patient_id, main_window)`` for roles
with READ_CLINICAL (or a break-glass grant). Everything it shows comes from ``ctx.clinical``,
loaded off the GUI thread in one background job; ``loaded`` fires after each load.

``set_patient(id)`` shows another patient in the same widgets (building and styling a chart's
few hundred widgets costs more than the budget of opening one): every tab is emptied first,
and an answer that was asked for the previous patient is dropped when it arrives (``_gen``, a
``Generation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.permissions import Permission, allows
from ..ops import Generation, run_op
from .chart_entry_dialog import ChartEntryDialog
from .chart_format import ACCENT, MUTED, ClinicClock
from .chart_summary_column import ChartSummaryColumn
from .letters_tab import LettersTab
from .note_editor import NoteEditor
from .results_tab import ResultsTab
from .timeline_tab import TimelineTab
from .vitals_tab import VitalsTab

TABS = ("timeline", "note", "vitals", "results", "letters")


@dataclass(frozen=True)
class _ChartData:
    timezone: str
    summary: Any
    timeline: list[Any]
    notes: list[Any]
    templates: list[Any] | None
    trends: list[Any]
    results: list[Any]


class ChartPanel(QWidget):
    loaded = Signal()
    encounter_started = Signal(str)  # encounter id

    def __init__(self, ctx: Any, session: Any, patient_id: str, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.patient_id, self.main_window = (
            ctx, session, patient_id, main_window)
        self.setObjectName("chartPanel")
        self.clock = ClinicClock()
        self.summary: Any = None
        self._loading = False
        self._again = False
        self._templates_loaded = False
        self._gen = Generation()  # bumped when another patient is shown
        self.can_write = allows(session.role, Permission.WRITE_CLINICAL)
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.encounter_label = QLabel()
        self.encounter_label.setObjectName("encounterState")
        self.start_button = QPushButton(self.tr("Start consultation"))
        self.start_button.setObjectName("startConsultation")
        self.start_button.setVisible(False)
        self.start_button.clicked.connect(self.start_consultation)
        bar_frame = QFrame()
        bar_frame.setObjectName("encounterBar")
        bar_frame.setStyleSheet("#encounterBar { border-bottom: 1px solid #e3e8ee; }")
        bar = QHBoxLayout(bar_frame)
        bar.setContentsMargins(12, 6, 12, 6)
        bar.addWidget(self.encounter_label)
        bar.addStretch(1)
        bar.addWidget(self.start_button)

        self.summary_column = ChartSummaryColumn(self.clock, self.can_write)
        self.summary_column.add_requested.connect(self.add_entry)
        self.summary_column.status_requested.connect(self.end_entry)
        self.timeline_tab = TimelineTab(self.clock)
        self.timeline_tab.entry_activated.connect(self._open_entry)
        self.note_editor = NoteEditor(self.ctx, self.session, self.patient_id, self.clock)
        self.note_editor.note_signed.connect(lambda _id: self.refresh())
        self.vitals_tab = VitalsTab(self.ctx, self.session, self.patient_id, self.clock,
                                    self.can_write)
        self.vitals_tab.vitals_recorded.connect(self.refresh)
        self.results_tab = ResultsTab(self.ctx, self.session, self.patient_id, self.clock,
                                      self.can_write)
        self.results_tab.reviewed.connect(lambda _id: self.refresh())
        self.letters_tab = LettersTab(self.ctx, self.session, self.patient_id, self.can_write)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("chartTabs")
        self.tabs.setDocumentMode(True)
        for widget, label in ((self.timeline_tab, "Timeline"), (self.note_editor, "Note"),
                              (self.vitals_tab, "Vitals"), (self.results_tab, "Results"),
                              (self.letters_tab, "Letters")):
            self.tabs.addTab(widget, self.tr(label))
        self.note_editor.setEnabled(self.can_write)
        right = QVBoxLayout()
        right.setContentsMargins(10, 4, 12, 10)
        right.addWidget(self.tabs)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.summary_column)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar_frame)
        layout.addLayout(body, 1)

    # --- the patient shown -------------------------------------------------------------------

    def set_patient(self, patient_id: str) -> None:
        """Show ``patient_id`` instead: nothing of the previous patient stays on any tab (a
        draft being written is saved for the patient it belongs to first)."""
        self._gen.bump()
        self.patient_id = patient_id
        self.summary = None
        self._loading = self._again = False
        self.summary_column.clear()
        self.encounter_label.clear()
        self.start_button.setVisible(False)
        self.start_button.setEnabled(True)
        self.tabs.setCurrentIndex(0)  # first: a tab emptied while hidden draws nothing now
        self.timeline_tab.clear()
        self.note_editor.set_patient(patient_id)
        self.vitals_tab.set_patient(patient_id)
        self.results_tab.set_patient(patient_id)
        self.letters_tab.set_patient(patient_id)
        self.tabs.setTabText(3, self.tr("Results"))
        self.refresh()

    # --- loading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        # Templates are for writing notes: a break-glass reader neither needs nor may list them.
        c, who, pid, want_templates = (self.ctx.clinical, self.session, self.patient_id,
                                       not self._templates_loaded and self.can_write)
        setup = self.ctx.setup

        def load() -> _ChartData:
            clinic = setup.clinic()
            return _ChartData(
                clinic.timezone if clinic else "UTC", c.chart_summary(who, patient_id=pid),
                c.timeline(who, patient_id=pid), c.list_notes(who, patient_id=pid),
                c.list_templates(who) if want_templates else None,
                c.vital_trends(who, patient_id=pid), c.list_results(who, patient_id=pid))

        run_op(self, load, self._gen.guard(self._loaded), self._gen.guard(self._failed))

    def _failed(self, error: BaseException) -> None:
        self._loading = False
        from ..errors import show_error

        show_error(self, error)

    def _loaded(self, data: _ChartData) -> None:
        self._loading = False
        first = self.summary is None
        self.clock.set_timezone(data.timezone)
        self.summary = data.summary
        self._templates_loaded = self._templates_loaded or data.templates is not None
        self.summary_column.set_summary(data.summary)
        self._show_encounter(data.summary.open_encounter)
        self.timeline_tab.set_entries(data.timeline)
        self.note_editor.set_data(data.notes, data.templates)
        self.vitals_tab.set_trends(data.trends)
        self.results_tab.set_reports(data.results)
        unreviewed = data.summary.unreviewed_results
        self.tabs.setTabText(3, self.tr("Results (%d new)") % unreviewed if unreviewed
                             else self.tr("Results"))
        if first and data.summary.open_encounter is not None:
            self.select_tab("note")
        if self._again:
            self._again = False
            self.refresh()
        self.loaded.emit()

    def _show_encounter(self, enc: Any) -> None:
        enc_id = enc.id if enc else None
        self.note_editor.encounter_id = enc_id
        self.vitals_tab.encounter_id = enc_id
        if enc is None:
            self.encounter_label.setText(
                f"<span style='color:{MUTED}'>{self.tr('No consultation in progress')}</span>")
        else:
            self.encounter_label.setText(
                f"<span style='color:{ACCENT}; font-weight:600'>●</span> "
                + self.tr("In consultation since %s") % self.clock.local(enc.start_at)
                .strftime("%H:%M"))
        self.start_button.setVisible(enc is None and self.can_write)

    # --- actions -----------------------------------------------------------------------------

    def end_entry(self, kind: str, item_id: str) -> None:
        """Resolve a problem or stop a medication, after asking (both stay in the history)."""
        from PySide6.QtWidgets import QMessageBox

        question = (self.tr("Mark this problem as resolved today?") if kind == "problem"
                    else self.tr("Stop this medication?"))
        answer = QMessageBox.question(self, self.tr("Chart"), question)
        if answer != QMessageBox.StandardButton.Yes:
            return
        c, who, pid = self.ctx.clinical, self.session, self.patient_id
        from datetime import UTC, datetime

        today = self.clock.local(datetime.now(UTC)).date()

        def work() -> Any:
            if kind == "problem":
                return c.set_problem_status(who, patient_id=pid, problem_id=item_id,
                                            status="resolved", abatement=today)
            return c.stop_medication(who, patient_id=pid, medication_id=item_id)

        def done(_result: Any) -> None:
            self._status(self.tr("Problem resolved") if kind == "problem"
                         else self.tr("Medication stopped"))
            self.refresh()

        run_op(self, work, self._gen.guard(done), self._show_error)

    def select_tab(self, name: str) -> None:
        if name in TABS:
            self.tabs.setCurrentIndex(TABS.index(name))

    def start_consultation(self) -> None:
        c, who, pid = self.ctx.clinical, self.session, self.patient_id
        self.start_button.setEnabled(False)
        run_op(self, lambda: c.start_encounter(who, patient_id=pid),
               self._gen.guard(self._started), self._start_failed)

    def _started(self, enc: Any) -> None:
        self.start_button.setEnabled(True)
        self._status(self.tr("Consultation started"))
        self.encounter_started.emit(enc.id)
        self.select_tab("note")
        self.refresh()

    def _start_failed(self, error: BaseException) -> None:
        self.start_button.setEnabled(True)
        self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        from ..errors import show_error

        show_error(self, error)

    def add_entry(self, kind: str) -> ChartEntryDialog:
        c, who, pid = self.ctx.clinical, self.session, self.patient_id
        calls = {"allergy": c.add_allergy, "problem": c.add_problem,
                 "medication": c.add_medication}
        dialog = ChartEntryDialog(kind, lambda values: calls[kind](who, patient_id=pid, **values),
                                  self)
        dialog.accepted.connect(self.refresh)
        dialog.open()
        return dialog

    def _open_entry(self, kind: str, ref_id: str) -> None:
        if kind == "note":
            row = self.note_editor.model.row_of(ref_id)
            if row >= 0:
                self.note_editor.open_note(self.note_editor.model.note(row))
                self.select_tab("note")
        elif kind == "result":
            row = self.results_tab.reports.row_of(ref_id)
            if row >= 0:
                self.results_tab.report_table.selectRow(row)
                self.select_tab("results")
        elif kind == "vitals":
            self.select_tab("vitals")

    def _status(self, text: str) -> None:
        show = getattr(self.main_window, "show_status", None)
        if callable(show):
            show(text)
