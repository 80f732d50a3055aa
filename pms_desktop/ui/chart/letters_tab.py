"""Letters: a referral letter or a medical certificate, filled from the chart, printed or saved.

"Fill from chart" asks the service for a pre-filled draft; the clinician edits it; "Print…"
goes through the system's print dialog and "Save PDF…" asks where to save; either way the PDF
is made off the GUI thread and no copy is left in a temporary folder. Missing required fields
are marked and the text is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ValidationError
from ..errors import show_error
from ..ops import Generation, run_op
from ..widgets import printing
from .chart_format import ALERT_RED, MUTED, OK_GREEN

KINDS = (("referral", "Referral letter"), ("certificate", "Medical certificate"))
FIELDS = {
    "referral": (("recipient_name", "To"), ("recipient_address", "Address"),
                 ("reason", "Reason for referral"), ("urgency", "Urgency"),
                 ("history", "Relevant history"), ("findings", "Recent findings"),
                 ("medications", "Current medications"), ("allergies", "Allergies")),
    "certificate": (("condition", "Condition"), ("unfit_from", "Unfit for work from"),
                    ("unfit_to", "Up to and including"), ("remarks", "Remarks")),
}
MULTILINE = {"recipient_address", "history", "findings", "medications", "allergies", "remarks"}
ERROR_STYLE = f"border: 1.5px solid {ALERT_RED}; background: #fdecea;"


class LettersTab(QWidget):
    def __init__(self, ctx: Any, session: Any, patient_id: str, can_write: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.patient_id = ctx, session, patient_id
        self.can_write = can_write
        self._gen = Generation()  # bumped when another patient is shown
        self.kind_box = QComboBox()
        self.kind_box.setObjectName("letterKind")
        self.kind_box.setAccessibleName(self.tr("Kind of letter"))
        for key, label in KINDS:
            self.kind_box.addItem(self.tr(label), key)
        self.kind_box.currentIndexChanged.connect(lambda _i: self._build_form())
        self.fill_button = QPushButton(self.tr("Fill from chart"))
        self.fill_button.setObjectName("fillLetter")
        self.fill_button.clicked.connect(self.fill_from_chart)
        self.print_button = QPushButton(self.tr("Print…"))
        self.print_button.setObjectName("printLetter")
        self.print_button.setProperty("primary", True)
        self.print_button.setEnabled(can_write)
        self.print_button.clicked.connect(lambda: self.print_letter())
        self.save_button = QPushButton(self.tr("Save PDF…"))
        self.save_button.setObjectName("saveLetter")
        self.save_button.setEnabled(can_write)
        self.save_button.clicked.connect(lambda: self.save_pdf())
        self.status = QLabel()
        self.status.setObjectName("letterStatus")
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Letter")))
        bar.addWidget(self.kind_box)
        bar.addWidget(self.fill_button)
        bar.addStretch(1)
        bar.addWidget(self.print_button)
        bar.addWidget(self.save_button)
        self.form_host = QWidget()
        self.form_host.setMaximumWidth(760)
        self.form = QFormLayout(self.form_host)
        self.inputs: dict[str, QLineEdit | QPlainTextEdit] = {}
        # The form and its message scroll: a certificate's or a referral's fields are taller
        # than a laptop leaves the chart, and held the whole window taller than the screen.
        page = QWidget()
        page.setObjectName("letterPage")
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.form_host)
        column.addWidget(self.status)
        column.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("letterScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(page)
        # On the chart's own background, as the form was before it scrolled.
        self.scroll.setStyleSheet("#letterScroll, #letterScroll > QWidget, #letterPage"
                                  " { background: transparent; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll, 1)
        self._build_form()

    def set_patient(self, patient_id: str) -> None:
        """Another patient: every field empty, no message."""
        self._gen.bump()
        self.patient_id = patient_id
        for widget in self.inputs.values():
            widget.clear()
            widget.setStyleSheet("")
        self.status.clear()
        self._busy(False)

    def kind(self) -> str:
        return str(self.kind_box.currentData())

    def _build_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs = {}
        for field, label in FIELDS[self.kind()]:
            widget: QLineEdit | QPlainTextEdit
            if field in MULTILINE:
                widget = QPlainTextEdit()
                widget.setMaximumHeight(64)
                widget.setTabChangesFocus(True)
            else:
                widget = QLineEdit()
            widget.setObjectName(f"letter_{field}")
            self.form.addRow(self.tr(label), widget)
            self.inputs[field] = widget
        self.status.clear()

    def values(self) -> dict[str, str]:
        return {f: w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()
                for f, w in self.inputs.items()}

    def set_values(self, values: dict[str, str]) -> None:
        for field, widget in self.inputs.items():
            if field in values:
                if isinstance(widget, QPlainTextEdit):
                    widget.setPlainText(values[field])
                else:
                    widget.setText(values[field])

    def fill_from_chart(self) -> None:
        clinical, who, pid, kind = self.ctx.clinical, self.session, self.patient_id, self.kind()
        run_op(self, lambda: clinical.letter_draft(who, patient_id=pid, kind=kind),
               self._gen.guard(lambda draft: self._filled(kind, draft)))

    def _filled(self, kind: str, draft: Any) -> None:
        if kind == self.kind():
            # Keep what the clinician already typed; fill only empty fields.
            current = self.values()
            self.set_values({k: v for k, v in draft.fields.items()
                             if not current.get(k, "").strip()})
            self.status.setText(self.tr("Filled from the chart. Check and complete it."))
            self.status.setStyleSheet(f"color: {MUTED};")

    def _maker(self) -> Callable[[], bytes]:
        for widget in self.inputs.values():
            widget.setStyleSheet("")
        clinical, who, pid, kind, values = (self.ctx.clinical, self.session, self.patient_id,
                                            self.kind(), self.values())
        return lambda: clinical.letter_pdf(who, patient_id=pid, kind=kind, fields=values)

    def _busy(self, on: bool) -> None:
        self.print_button.setEnabled(self.can_write and not on)
        self.save_button.setEnabled(self.can_write and not on)

    def print_letter(self, printer: QPrinter | None = None) -> None:
        """Through the print dialog (``printer`` given: straight to it)."""
        make = self._maker()
        chosen = printer or printing.choose_printer(self, self.tr("Print the letter"))
        if chosen is None:
            return
        self._busy(True)
        printing.print_pdf(self, make, self.kind_box.currentText(),
                           self._gen.guard(lambda _p: self._done(self.tr("Sent to the printer."))),
                           printer=chosen, failed=self._when_current_failed())

    def save_pdf(self, out: Path | None = None) -> None:
        """Ask where to save (``out`` given: there), then write the letter."""
        make = self._maker()
        target = out or printing.ask_pdf_path(self, self.tr("Save letter"),
                                              str(Path.home() / f"{self.kind()}.pdf"))
        if target is None:
            return
        self._busy(True)
        printing.save_pdf(self, make, target.name,
                          self._gen.guard(lambda p: self._done(self.tr("Saved %s") % p)),
                          path=target, failed=self._when_current_failed())

    def _done(self, text: str) -> None:
        self._busy(False)
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {OK_GREEN};")

    def _when_current_failed(self) -> Callable[[BaseException], None]:
        """A failure about another patient's letter: only the message, no field marked."""
        return self._gen.guard(self._failed, lambda e: show_error(self, e))

    def _failed(self, error: BaseException) -> None:
        self._busy(False)
        if isinstance(error, ValidationError) and set(error.field_errors) & set(self.inputs):
            for field in error.field_errors:
                if field in self.inputs:
                    self.inputs[field].setStyleSheet(ERROR_STYLE)
            self.status.setText(self.tr("Complete the marked fields."))
            self.status.setStyleSheet(f"color: {ALERT_RED};")
            return
        show_error(self, error)
