"""The full booking dialog: patient, practitioner, time, type, repeat, next free slot.

A refusal from the service (the practitioner is already booked, on leave, not working) is
shown here, in the dialog, with what is in the way; booking there anyway needs a reason,
which the service keeps and logs.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ConflictError, ValidationError
from ...domain.session import StaffSession
from ...services.scheduling_dto import AppointmentTypeInfo, PractitionerInfo
from ..errors import show_error
from ..ops import run_op
from ..patients.patient_table_model import PatientTableModel
from ..widgets.dates import WEEKDAY_DAY, day_text


def _buddy(text: str, widget: QWidget) -> QLabel:
    """A form label whose Alt key reaches a field that shares its row with others."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


class BookingDialog(QDialog):
    booked = Signal(object)  # list[AppointmentInfo]

    def __init__(
        self,
        ctx: Any,
        session: StaffSession,
        *,
        practitioners: list[PractitionerInfo],
        types: list[AppointmentTypeInfo],
        timezone: str,
        practitioner_id: str | None = None,
        start: datetime | None = None,
        patient_id: str | None = None,
        patient_text: str = "",
        type_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.tz = ctx, session, ZoneInfo(timezone)
        self.types = types
        self.patient_id = patient_id
        self.setWindowTitle(self.tr("Book an appointment"))
        self.setObjectName("bookingDialog")
        self.patient_search = QLineEdit(patient_text)
        self.patient_search.setObjectName("bookingPatientSearch")
        self.patient_search.setPlaceholderText(
            self.tr("Find the patient: name, date of birth, phone")
        )
        self.patient_model = PatientTableModel(self)
        self.patient_table = QTableView()
        self.patient_table.setModel(self.patient_model)
        self.patient_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.patient_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.patient_table.verticalHeader().hide()
        self.patient_table.setMaximumHeight(150)
        for col in (2, 3, 5):
            self.patient_table.hideColumn(col)
        header = self.patient_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # "Date of birth"
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.patient_table.setTabKeyNavigation(False)  # Tab goes on to the next field
        self.patient_table.selectionModel().currentRowChanged.connect(self._patient_row)
        self.patient_label = QLabel()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(150)
        self.timer.timeout.connect(self._search)
        self.patient_search.textChanged.connect(lambda _t: self.timer.start())
        self.practitioner = QComboBox()
        for p in practitioners:
            self.practitioner.addItem(p.name, p.id)
        if practitioner_id:
            self.practitioner.setCurrentIndex(max(0, self.practitioner.findData(practitioner_id)))
        local = (start or datetime.now(self.tz)).astimezone(self.tz)
        self.day = QDateEdit(QDate(local.year, local.month, local.day))
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat(WEEKDAY_DAY)  # as the book above it
        self.time = QTimeEdit(QTime(local.hour, local.minute))
        self.time.setDisplayFormat("HH:mm")
        self.type = QComboBox()
        for t in types:
            self.type.addItem(f"{t.name} ({t.duration_minutes} min)", t.id)
        if type_id:
            self.type.setCurrentIndex(max(0, self.type.findData(type_id)))
        self.duration = QSpinBox()
        self.duration.setRange(5, 480)
        self.duration.setSingleStep(5)
        self.duration.setSuffix(" min")
        self.type.currentIndexChanged.connect(self._type_changed)
        self._type_changed()
        self.repeat = QComboBox()
        self.repeat.addItem(self.tr("Does not repeat"), 0)
        self.repeat.addItem(self.tr("Weekly"), 1)
        self.repeat.addItem(self.tr("Fortnightly"), 2)
        self.occurrences = QSpinBox()
        self.occurrences.setRange(2, 52)
        self.occurrences.setValue(6)
        self.occurrences.setSuffix(self.tr(" times"))
        self.occurrences.setEnabled(False)
        self.repeat.currentIndexChanged.connect(
            lambda _i: self.occurrences.setEnabled(bool(self.repeat.currentData()))
        )
        self.note = QLineEdit()
        self.override = QLineEdit()
        self.override.setObjectName("overrideReason")
        self.override.setPlaceholderText(self.tr("Why double-book on purpose?"))
        self.error = QLabel()
        self.error.setObjectName("bookingError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(
            "color: #b3261e; background: #fdecea; border: 1px solid #f4b6b0;"
            " border-radius: 4px; padding: 6px;"
        )
        self.error.hide()
        self.next_free = QPushButton(self.tr("Ne&xt free slot"))
        self.next_free.clicked.connect(self.find_next_free)
        when = QHBoxLayout()
        for w in (self.day, self.time, self.next_free):
            when.addWidget(w)
        repeat = QHBoxLayout()
        repeat.addWidget(self.repeat)
        repeat.addWidget(self.occurrences)
        form = QFormLayout()
        form.addRow(self.tr("&Patient"), self.patient_search)  # Alt+letter reaches each field
        form.addRow("", self.patient_table)
        form.addRow("", self.patient_label)
        form.addRow(self.tr("&With"), self.practitioner)
        form.addRow(_buddy(self.tr("W&hen"), self.day), when)
        form.addRow(self.tr("&Type"), self.type)
        form.addRow(self.tr("&Length"), self.duration)
        form.addRow(_buddy(self.tr("&Repeat"), self.repeat), repeat)
        form.addRow(self.tr("N&ote"), self.note)
        self.override_row_label = QLabel(self.tr("Double-book"))
        form.addRow(self.override_row_label, self.override)
        self.override.hide()
        self.override_row_label.hide()
        buttons = QDialogButtonBox()
        self.book_button = buttons.addButton(
            self.tr("Book"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.book_button.setProperty("primary", True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.book)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addLayout(form)
        v.addWidget(self.error)
        v.addWidget(buttons)
        self.resize(560, 520)
        if patient_text:
            self.timer.start()
        if patient_id:
            self.patient_search.hide()
            self.patient_table.hide()
            self._load_patient_label(patient_id)

    # --- patient ---------------------------------------------------------------------------

    def _search(self) -> None:
        text, patients, who = self.patient_search.text().strip(), self.ctx.patients, self.session
        if text:
            run_op(self, lambda: patients.search(who, text, limit=20), self._patients_found)

    def _patients_found(self, rows: list[Any]) -> None:
        self.patient_model.set_rows(rows)
        if rows:
            self.patient_table.selectRow(0)

    def _patient_row(self, current: Any, _prev: Any = None) -> None:
        p = self.patient_model.patient(current.row())
        if p is not None:
            self.patient_id = p.id
            self.patient_label.setText(f"<b>{p.display_name}</b>, born {day_text(p.birth_date)}")

    def _load_patient_label(self, patient_id: str) -> None:
        patients, who = self.ctx.patients, self.session
        run_op(
            self,
            lambda: patients.banner(who, patient_id=patient_id),
            lambda b: self.patient_label.setText(f"<b>{b.name}</b>, born {day_text(b.birth_date)}"),
        )

    # --- time --------------------------------------------------------------------------------

    def _type_changed(self) -> None:
        t = next((t for t in self.types if t.id == self.type.currentData()), None)
        if t is not None:
            self.duration.setValue(t.duration_minutes)

    def start_at(self) -> datetime:
        d, t = self.day.date(), self.time.time()
        return datetime.combine(
            date(d.year(), d.month(), d.day()), time(t.hour(), t.minute()), tzinfo=self.tz
        )

    def find_next_free(self) -> None:
        sched, who = self.ctx.scheduling, self.session
        prac, type_id, minutes, after = (
            self.practitioner.currentData(),
            self.type.currentData(),
            self.duration.value(),
            self.start_at(),
        )
        run_op(
            self,
            lambda: sched.next_free_slot(
                who,
                practitioner_id=prac,
                appointment_type_id=type_id,
                after=after,
                duration_minutes=minutes,
            ),
            self._set_start,
        )

    def _set_start(self, when: datetime) -> None:
        local = when.astimezone(self.tz)
        self.day.setDate(QDate(local.year, local.month, local.day))
        self.time.setTime(QTime(local.hour, local.minute))
        self.error.hide()

    # --- booking ----------------------------------------------------------------------------

    def book(self) -> None:
        if not self.patient_id:
            self._show_problem(self.tr("Choose the patient first."))
            return
        sched, who = self.ctx.scheduling, self.session
        args = dict(
            patient_id=self.patient_id,
            practitioner_id=self.practitioner.currentData(),
            start_at=self.start_at(),
            appointment_type_id=self.type.currentData(),
            duration_minutes=self.duration.value(),
            note=self.note.text(),
        )
        every, override = self.repeat.currentData(), self.override.text().strip()
        if every:
            n = self.occurrences.value()
            fn = lambda: sched.book_recurring(who, every_weeks=every, occurrences=n, **args)  # noqa: E731
        else:
            fn = lambda: [sched.book(who, override_reason=override, **args)]  # noqa: E731
        self.book_button.setEnabled(False)
        run_op(self, fn, self._done, self._failed, label=self.tr("Booking…"))

    def _done(self, made: list[Any]) -> None:
        self.booked.emit(made)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.book_button.setEnabled(True)
        if isinstance(error, ConflictError):
            self._show_problem(str(error))
            if not self.repeat.currentData():
                self.override.show()
                self.override_row_label.show()
        elif isinstance(error, ValidationError):
            self._show_problem(" ".join(error.field_errors.values()))
        else:
            show_error(self, error)

    def _show_problem(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
