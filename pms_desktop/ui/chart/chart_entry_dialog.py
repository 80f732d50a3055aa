"""A small form to add an allergy, a problem or a current medication to the chart.

The save runs off the GUI thread; a ``ValidationError`` marks the named fields in red with
their message and keeps everything typed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ValidationError
from ..errors import show_error
from ..ops import run_op
from .chart_format import ALERT_RED

Choices = tuple[tuple[str, str], ...]  # (the FHIR code stored, what the clinician reads)

# kind -> (title, [(field, label, choices, "date" or None)]); a list's first choice is its
# default, but where DEFAULTS names another (a scale reads in its order: Mild, Moderate, Severe)
FORMS: dict[str, tuple[str, list[tuple[str, str, Choices | str | None]]]] = {
    "allergy": ("Add allergy", [("substance", "Substance", None), ("reaction", "Reaction", None),
                                ("severity", "Severity", (("mild", "Mild"),
                                                          ("moderate", "Moderate"),
                                                          ("severe", "Severe"))),
                                ("criticality", "Criticality",
                                 (("unable-to-assess", "Unable to assess"), ("low", "Low risk"),
                                  ("high", "High risk")))]),
    "problem": ("Add problem", [("display", "Problem", None), ("onset", "Onset", "date"),
                                ("status", "Status", (("active", "Active"),
                                                      ("recurrence", "Recurrence"),
                                                      ("inactive", "Inactive"),
                                                      ("resolved", "Resolved")))]),
    "medication": ("Add current medication", [("name", "Medication", None), ("dose", "Dose", None),
                                              ("route", "Route", None),
                                              ("frequency", "Frequency", None)]),
}
DEFAULTS = {"severity": "moderate"}


class ChartEntryDialog(QDialog):
    def __init__(self, kind: str, save: Callable[[dict[str, Any]], Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title, fields = FORMS[kind]
        self.setWindowTitle(self.tr(title))
        self.setObjectName(f"{kind}Dialog")
        self.save = save
        self.result_value: Any = None
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for field, label, choices in fields:
            widget = self._input(field, choices)
            error = QLabel()
            error.setStyleSheet(f"color: {ALERT_RED};")
            error.hide()
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(widget)
            box.addWidget(error)
            form.addRow(self.tr(label), box)
            self.inputs[field], self.errors[field] = widget, error
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(380)

    def _input(self, field: str, choices: Any) -> QWidget:
        if choices == "date":
            holder = QWidget()
            row = QVBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            known = QCheckBox(self.tr("Known"))
            edit = QDateEdit(QDate.currentDate())
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy")
            edit.setEnabled(False)
            known.toggled.connect(edit.setEnabled)
            row.addWidget(known)
            row.addWidget(edit)
            holder.setProperty("date_edit", edit)
            holder.setProperty("known", known)
            return holder
        if choices:
            combo = QComboBox()
            for code, text in choices:  # the code is stored, the words are shown
                combo.addItem(self.tr(text), code)
            combo.setCurrentIndex(max(0, combo.findData(DEFAULTS.get(field))))
            return combo
        edit = QLineEdit()
        edit.setObjectName(f"field_{field}")
        return edit

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, widget in self.inputs.items():
            if isinstance(widget, QLineEdit):
                out[field] = widget.text()
            elif isinstance(widget, QComboBox):
                out[field] = widget.currentData()
            else:
                known, edit = widget.property("known"), widget.property("date_edit")
                qd = edit.date()
                out[field] = date(qd.year(), qd.month(), qd.day()) if known.isChecked() else None
        return out

    def submit(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.buttons.setEnabled(False)
        values = self.values()
        run_op(self, lambda: self.save(values), self._saved, self._failed)

    def _saved(self, result: Any) -> None:
        self.buttons.setEnabled(True)
        self.result_value = result
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(error, ValidationError) and set(error.field_errors) & set(self.errors):
            for field, message in error.field_errors.items():
                if field in self.errors:
                    self.errors[field].setText(message)
                    self.errors[field].show()
            return
        show_error(self, error)
