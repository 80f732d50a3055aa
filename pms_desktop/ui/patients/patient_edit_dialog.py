"""The registration / edit form of a patient, with the duplicate candidates panel.

Field widgets are named after ``PatientDraft`` fields, so a ``ValidationError`` from the
service marks exactly the fields it names; nothing typed is ever lost. While reception types
the name, date of birth, phone or identifiers, possible existing records are looked up (off the
GUI thread, after a pause) and shown with "Open this patient instead".
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QGroupBox,
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
from ...domain.session import StaffSession
from ...services.patients_dto import DuplicateCandidate, PatientDetail, PatientDraft
from ..errors import mark_invalid, show_error
from ..ops import run_op
from ..widgets.dates import day_text
from ..widgets.screen_fit import resize_to_fit

SEXES = (("unknown", "—"), ("female", "Female"), ("male", "Male"), ("other", "Other"))
DUPLICATE_KEYS = {"given", "family", "birth_date", "phone", "mrn", "national_id"}
# (group title, [(field, label, placeholder, columns)]); "&" marks the Alt key of the desk's
# busiest fields
LAYOUT: list[tuple[str, list[tuple[str, str, str, int]]]] = [
    (
        "Person",
        [
            ("prefix", "Title", "Ms, Mr, Dr", 1),
            ("given", "&First name *", "", 2),
            ("middle", "Middle name", "", 2),
            ("family", "&Surname *", "", 2),
            ("preferred_name", "&Known as", "", 2),
            ("birth_date", "&Date of birth *", "dd/mm/yyyy", 2),
            ("sex", "Se&x", "", 1),
        ],
    ),
    (
        "Contact",
        [
            ("phone", "&Mobile", "087 123 4567", 2),
            ("phone_home", "&Home phone", "", 2),
            ("email", "&E-mail", "name@example.com", 3),
        ],
    ),
    (
        "Address",
        [
            ("address_line", "&Address", "", 4),
            ("address_line2", "", "", 3),
            ("city", "Town / city", "", 2),
            ("region", "County", "", 2),
            ("postal_code", "Eircode / postcode", "", 2),
            ("country", "Country", "IE", 1),
        ],
    ),
    (
        "Identifiers",
        [("mrn", "MRN", "clinic record number", 2),
         ("national_id", "PPSN (national ID)", "1234567A", 2)],
    ),
    (
        "Emergency contact",
        [
            ("emergency_name", "Name", "", 3),
            ("emergency_relationship", "Relationship", "", 2),
            ("emergency_phone", "Phone", "", 2),
        ],
    ),
    (
        "Cover",
        [
            ("coverage_payer", "Insurer", "", 3),
            ("coverage_member_id", "Member number", "", 2),
            ("coverage_plan", "Plan", "", 2),
        ],
    ),
]


class PatientEditDialog(QDialog):
    patient_saved = Signal(str)
    open_instead = Signal(str)
    duplicates_shown = Signal(int)

    def __init__(
        self,
        ctx: Any,
        session: StaffSession,
        detail: PatientDetail | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.detail = ctx, session, detail
        self.setObjectName("patientEditDialog")
        self.setWindowTitle(
            self.tr("Edit patient") if detail else self.tr("Register a new patient")
        )
        self.inputs: dict[str, QLineEdit | QComboBox | QPlainTextEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self._dup_seq = 0
        self._saving = False
        self._build()
        if detail is not None:
            self._fill(detail.draft)
        self.dup_timer = QTimer(self)
        self.dup_timer.setSingleShot(True)
        self.dup_timer.setInterval(350)
        self.dup_timer.timeout.connect(self.check_duplicates)
        resize_to_fit(self, 1080, 760)

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        form = QWidget()
        col = QVBoxLayout(form)
        col.setSpacing(10)
        for title, items in LAYOUT:
            col.addWidget(self._group(title, items))
        notes = QGroupBox(self.tr("Reception notes"))
        notes_layout = QVBoxLayout(notes)
        self.inputs["reception_notes"] = QPlainTextEdit()
        self.inputs["reception_notes"].setPlaceholderText(
            self.tr("Practical notes for the front desk (not clinical)")
        )
        self.inputs["reception_notes"].setFixedHeight(64)
        notes_layout.addWidget(self.inputs["reception_notes"])
        col.addWidget(notes)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(form)
        self.summary = QLabel()
        self.summary.setObjectName("fieldError")
        self.summary.setWordWrap(True)
        self.summary.hide()
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(
            self.tr("Save changes") if self.detail else self.tr("Register patient"),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.save_button.setProperty("primary", True)
        self.save_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        left = QVBoxLayout()
        left.addWidget(scroll, 1)
        left.addWidget(self.summary)
        left.addWidget(self.buttons)
        row = QHBoxLayout(self)
        row.addLayout(left, 1)
        row.addWidget(self._duplicate_panel())

    def _group(self, title: str, items: list[tuple[str, str, str, int]]) -> QGroupBox:
        box = QGroupBox(self.tr(title))
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        r, c = 0, 0
        for name, label, placeholder, span in items:
            if c + span > 6:
                r, c = r + 3, 0
            widget = self._input(name, placeholder)
            lab = QLabel(self.tr(label))
            lab.setBuddy(widget)
            err = QLabel()
            err.setObjectName("fieldError")
            err.setWordWrap(True)
            err.hide()
            self.errors[name] = err
            grid.addWidget(lab, r, c, 1, span)
            grid.addWidget(widget, r + 1, c, 1, span)
            grid.addWidget(err, r + 2, c, 1, span)
            c += span
        for i in range(6):
            grid.setColumnStretch(i, 1)
        return box

    def _input(self, name: str, placeholder: str) -> QWidget:
        if name == "sex":
            combo = QComboBox()
            for value, label in SEXES:
                combo.addItem(self.tr(label), value)
            combo.setObjectName("field_sex")
            combo.setAccessibleName(self.tr("Sex"))
            self.inputs[name] = combo
            return combo
        edit = QLineEdit()
        edit.setObjectName(f"field_{name}")
        edit.setPlaceholderText(placeholder)
        edit.setAccessibleName(name.replace("_", " "))
        edit.textEdited.connect(lambda _t, n=name: self._edited(n))
        self.inputs[name] = edit
        return edit

    def _duplicate_panel(self) -> QFrame:
        self.dup_panel = QFrame()
        self.dup_panel.setObjectName("duplicatePanel")
        self.dup_panel.setFixedWidth(300)
        v = QVBoxLayout(self.dup_panel)
        self.dup_title = QLabel(self.tr("Possible existing records"))
        self.dup_title.setObjectName("duplicateTitle")
        hint = QLabel(
            self.tr(
                "This person may already be registered. Open their record instead of "
                "creating a second one."
            )
        )
        hint.setWordWrap(True)
        hint.setObjectName("muted")
        v.addWidget(self.dup_title)
        v.addWidget(hint)
        self.dup_list = QVBoxLayout()
        v.addLayout(self.dup_list)
        v.addStretch(1)
        self.dup_panel.hide()
        return self.dup_panel

    # --- values ----------------------------------------------------------------------------

    def _fill(self, draft: PatientDraft) -> None:
        for f in fields(draft):
            value = getattr(draft, f.name)
            if isinstance(value, date):
                value = f"{value:%d/%m/%Y}"
            widget = self.inputs.get(f.name)
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findData(value)))
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(value or "")
            elif widget is not None:
                widget.setText(value or "")

    def prefill_name(self, text: str) -> None:
        parts = text.split()
        if len(parts) >= 2:
            self.inputs["given"].setText(parts[0].title())  # type: ignore[union-attr]
            self.inputs["family"].setText(" ".join(parts[1:]).title())  # type: ignore[union-attr]
        elif parts:
            self.inputs["family"].setText(parts[0].title())  # type: ignore[union-attr]

    def draft(self) -> PatientDraft:
        values: dict[str, str] = {}
        for name, widget in self.inputs.items():
            if isinstance(widget, QComboBox):
                values[name] = widget.currentData()
            elif isinstance(widget, QPlainTextEdit):
                values[name] = widget.toPlainText()
            else:
                values[name] = widget.text()
        return replace(PatientDraft(), **values)

    def set_field(self, name: str, text: str) -> None:
        """Type into a field as a person would (used by tests and the search prefill)."""
        widget = self.inputs[name]
        if isinstance(widget, QLineEdit):
            widget.setText(text)
            self._edited(name)

    # --- errors ----------------------------------------------------------------------------

    def _edited(self, name: str) -> None:
        self._mark(name, None)
        if name in DUPLICATE_KEYS and self.detail is None:
            self.dup_timer.start()

    def _mark(self, name: str, message: str | None) -> None:
        widget, label = self.inputs.get(name), self.errors.get(name)
        if widget is not None:
            mark_invalid(widget, message is not None)
        if label is not None:
            label.setText(message or "")
            label.setVisible(message is not None)

    def show_errors(self, errors: dict[str, str]) -> None:
        for name in self.errors:
            self._mark(name, errors.get(name))
        unknown = [f"{k}: {v}" for k, v in errors.items() if k not in self.errors]
        self.summary.setText(
            self.tr("Please correct the fields marked in red.")
            + (" " + " ".join(unknown) if unknown else "")
        )
        self.summary.setVisible(bool(errors))
        first = next((self.inputs[k] for k in self.inputs if k in errors), None)
        if first is not None:
            first.setFocus()

    def field_error(self, name: str) -> str:
        label = self.errors.get(name)
        return label.text() if label is not None and not label.isHidden() else ""

    # --- duplicates --------------------------------------------------------------------------

    def check_duplicates(self) -> None:
        self._dup_seq += 1
        seq, draft = self._dup_seq, self.draft()
        patients, who = self.ctx.patients, self.session
        run_op(
            self,
            lambda: patients.find_duplicates(who, draft=draft),
            lambda found: self._show_duplicates(seq, found),
            lambda _e: None,
        )

    def _show_duplicates(self, seq: int, found: list[DuplicateCandidate]) -> None:
        if seq != self._dup_seq:
            return
        while self.dup_list.count():
            item = self.dup_list.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for cand in found[:5]:
            self.dup_list.addWidget(self._candidate(cand))
        self.candidates = found
        self.dup_panel.setVisible(bool(found))
        self.duplicates_shown.emit(len(found))

    def _candidate(self, cand: DuplicateCandidate) -> QFrame:
        p = cand.patient
        card = QFrame()
        card.setObjectName("card")
        v = QVBoxLayout(card)
        name = QLabel(f"<b>{p.display_name}</b>")
        facts = QLabel(
            f"Born {day_text(p.birth_date)} ({p.age} y)"
            + (f"<br>{p.phone}" if p.phone else "")
            + (f"<br>{p.identifiers}" if p.identifiers else "")
        )
        why = QLabel("<br>".join(cand.reasons))
        why.setStyleSheet("color: #7a5200;")
        button = QPushButton(self.tr("Open this patient instead"))
        button.setObjectName("openInstead")
        button.clicked.connect(lambda: self._open_instead(p.id))
        for w in (name, facts, why, button):
            v.addWidget(w)
        return card

    def _open_instead(self, patient_id: str) -> None:
        self.open_instead.emit(patient_id)
        self.reject()

    # --- saving ----------------------------------------------------------------------------

    def save(self) -> None:
        if self._saving:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        draft, who, patients = self.draft(), self.session, self.ctx.patients
        if self.detail is None:
            fn = lambda: patients.register_patient(who, draft=draft)  # noqa: E731
        else:
            pid = self.detail.id
            fn = lambda: patients.update_patient(who, patient_id=pid, draft=draft)  # noqa: E731
        run_op(self, fn, self._saved, self._failed, label=self.tr("Saving…"))

    def _saved(self, detail: PatientDetail) -> None:
        self._saving = False
        self.detail = self.detail or detail
        self.patient_saved.emit(detail.id)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        if isinstance(error, ValidationError):
            self.show_errors(error.field_errors)
        else:
            show_error(self, error)
