"""Vitals: a form with unit labels (BMI computed as you type) next to the trend chart.

An impossible value comes back from the service as a ``ValidationError``: the field is marked
red with the message under it and everything typed stays in the form; nothing is stored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain import vitals as V
from ...domain.errors import ValidationError
from ..errors import show_error
from ..ops import Generation, run_op
from .chart_format import ALERT_RED, MUTED, OK_GREEN, ClinicClock
from .vitals_trend_chart import VitalsTrendChart

ERROR_STYLE = f"QLineEdit {{ border: 1.5px solid {ALERT_RED}; background: #fdecea; }}"


class VitalsTab(QWidget):
    vitals_recorded = Signal()

    def __init__(self, ctx: Any, session: Any, patient_id: str, clock: ClinicClock,
                 can_write: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.patient_id, self.clock = ctx, session, patient_id, clock
        self.encounter_id: str | None = None
        self.can_write = can_write
        self._gen = Generation()  # bumped when another patient is shown
        self.inputs: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        form_box = QFrame()
        form_box.setObjectName("vitalsForm")
        form_box.setFrameShape(QFrame.Shape.StyledPanel)
        form_box.setMaximumWidth(360)
        grid = QGridLayout(form_box)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setVerticalSpacing(2)
        title = QLabel(self.tr("Record vital signs"))
        title.setStyleSheet("font-weight: 600;")
        grid.addWidget(title, 0, 0, 1, 3)
        row = 1
        for spec in V.SPECS:
            row = self._add_row(grid, row, spec)
        grid.addWidget(QLabel(self.tr("BMI")), row, 0)
        self.bmi_label = QLabel("—")
        self.bmi_label.setObjectName("bmiValue")
        grid.addWidget(self.bmi_label, row, 1)
        grid.addWidget(self._unit("kg/m2"), row, 2)
        row += 1
        self.record_button = QPushButton(self.tr("Record vitals"))
        self.record_button.setObjectName("recordVitals")
        self.record_button.setProperty("primary", True)
        self.record_button.setToolTip(self.tr("Record these vital signs (Ctrl+Return)"))
        self.record_button.setEnabled(can_write)
        self.record_button.clicked.connect(self.record)
        self.status = QLabel()
        self.status.setObjectName("vitalsStatus")
        self.status.setWordWrap(True)
        grid.addWidget(self.status, row, 0, 1, 2)
        grid.addWidget(self.record_button, row + 1, 0, 1, 3)
        grid.setRowStretch(row + 2, 1)
        self.chart = VitalsTrendChart(clock)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(form_box)
        right = QVBoxLayout()
        right.addWidget(self.chart, 1)
        layout.addLayout(right, 1)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.record)

    def set_patient(self, patient_id: str) -> None:
        """Another patient: an empty form, no message, no trend until their chart loads."""
        self._gen.bump()
        self.patient_id, self.encounter_id = patient_id, None
        for field, edit in self.inputs.items():
            edit.clear()
            self._clear_error(field)
        self._update_bmi()
        self.status.clear()
        self.record_button.setEnabled(self.can_write)
        self.chart.set_series([])

    def _unit(self, ucum: str) -> QLabel:
        label = QLabel(V.UNIT_LABELS.get(ucum, ucum))
        label.setStyleSheet(f"color: {MUTED};")
        label.setMinimumWidth(44)
        return label

    def _add_row(self, grid: QGridLayout, row: int, spec: V.VitalSpec) -> int:
        edit = QLineEdit()
        edit.setObjectName(f"vital_{spec.field}")
        edit.setAccessibleName(self.tr(spec.label))
        edit.setMaximumWidth(110)
        edit.textEdited.connect(lambda _t, f=spec.field: self._clear_error(f))
        if spec.field in ("weight", "height"):
            edit.textEdited.connect(lambda _t: self._update_bmi())
        error = QLabel()
        error.setObjectName(f"error_{spec.field}")
        error.setStyleSheet(f"color: {ALERT_RED}; font-size: 9pt;")
        error.setWordWrap(True)
        error.hide()
        grid.addWidget(QLabel(self.tr(spec.label)), row, 0)
        grid.addWidget(edit, row, 1)
        grid.addWidget(self._unit(spec.unit), row, 2)
        grid.addWidget(error, row + 1, 0, 1, 3)
        self.inputs[spec.field], self.errors[spec.field] = edit, error
        return row + 2

    def _update_bmi(self) -> None:
        try:
            w = V.parse_value(self.inputs["weight"].text())
            h = V.parse_value(self.inputs["height"].text())
        except ValueError:
            w = h = None
        if w and h and h > 0:
            value = V.bmi(w, h)
            flag = V.interpret(V.BMI_SPEC, value)
            self.bmi_label.setText(f"{value}" + (f"  ({flag})" if flag != "N" else ""))
            self.bmi_label.setStyleSheet(f"color: {ALERT_RED};" if flag != "N" else "")
        else:
            self.bmi_label.setText("—")
            self.bmi_label.setStyleSheet("")

    def _clear_error(self, field: str) -> None:
        self.inputs[field].setStyleSheet("")
        self.errors[field].hide()

    def values(self) -> dict[str, str]:
        return {f: e.text() for f, e in self.inputs.items() if e.text().strip()}

    def record(self) -> None:
        values = self.values()
        for field in self.inputs:
            self._clear_error(field)
        if not values:
            self.status.setText(self.tr("Enter at least one measurement."))
            self.status.setStyleSheet(f"color: {ALERT_RED};")
            return
        clinical, who = self.ctx.clinical, self.session
        pid, enc = self.patient_id, self.encounter_id
        self.record_button.setEnabled(False)
        run_op(self, lambda: clinical.record_vitals(who, patient_id=pid, encounter_id=enc,
                                                    values=values),
               self._gen.guard(self._recorded),
               self._gen.guard(self._failed, lambda e: show_error(self, e)))

    def _recorded(self, observations: list[Any]) -> None:
        self.record_button.setEnabled(True)
        for edit in self.inputs.values():
            edit.clear()
        self._update_bmi()
        flagged = sum(1 for o in observations if o.abnormal)
        when = self.clock.time(observations[0].effective_at) if observations else ""
        text = self.tr("Vitals recorded at %s.") % when
        if flagged:
            text += " " + self.tr("%d outside the normal range (flagged).") % flagged
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {ALERT_RED if flagged else OK_GREEN};")
        self.vitals_recorded.emit()

    def _failed(self, error: BaseException) -> None:
        self.record_button.setEnabled(True)
        if isinstance(error, ValidationError) and set(error.field_errors) & set(self.inputs):
            for field, message in error.field_errors.items():
                if field in self.inputs:
                    self.inputs[field].setStyleSheet(ERROR_STYLE)
                    self.errors[field].setText(message)
                    self.errors[field].show()
            first = next(f for f in self.inputs if f in error.field_errors)
            self.inputs[first].setFocus()
            self.status.setText(self.tr("Nothing was recorded: correct the marked field."))
            self.status.setStyleSheet(f"color: {ALERT_RED};")
            return
        show_error(self, error)

    def set_trends(self, series: list[Any]) -> None:
        self.chart.set_series(series)

    @staticmethod
    def decimal(text: str) -> Decimal | None:
        return V.parse_value(text)
