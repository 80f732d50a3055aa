"""AppointmentTypeDialog: add or edit an appointment type (name, length, colour in the book)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ...domain.session import StaffSession
from ..save_dialog import SaveDialog

# Soft colours that keep the book's dark text readable.
PRESETS = (
    ("Blue", "#7fb3d5"), ("Green", "#a9dfbf"), ("Teal", "#a3c4bc"), ("Yellow", "#f9e79f"),
    ("Orange", "#f5cba7"), ("Red", "#f1948a"), ("Pink", "#f5b7d3"), ("Purple", "#c39bd3"),
    ("Grey", "#ccd1d1"),
)
OTHER = "other"


def swatch(colour: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(colour))
    return QIcon(pix)


class AppointmentTypeDialog(SaveDialog):
    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget | None = None,
                 existing: Any = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.existing = ctx, session, existing
        self.setObjectName("appointmentTypeDialog")
        self.setWindowTitle(self.tr("Edit appointment type") if existing
                            else self.tr("Add an appointment type"))
        self.setMinimumWidth(400)
        self.name = QLineEdit(existing.name if existing else "")
        self.name.setMaxLength(100)
        self.duration = QSpinBox(minimum=5, maximum=480, singleStep=5, suffix=self.tr(" min"))
        self.duration.setValue(existing.duration_minutes if existing else 15)
        self.colour = QComboBox()
        for label, value in PRESETS:
            self.colour.addItem(swatch(value), self.tr(label), value)
        if existing and self.colour.findData(existing.colour) < 0:
            self.colour.addItem(swatch(existing.colour), existing.colour, existing.colour)
        self.colour.addItem(self.tr("Other…"), OTHER)
        current = existing.colour if existing else PRESETS[0][1]
        self.colour.setCurrentIndex(max(0, self.colour.findData(current)))
        self._last_colour = self.colour.currentIndex()
        self.colour.activated.connect(self._colour_activated)
        self.fields: dict[str, QWidget] = {"name": self.name, "duration_minutes": self.duration,
                                           "colour": self.colour}
        form = QFormLayout(self)
        form.addRow(self.tr("&Name"), self.name)
        form.addRow(self.tr("&Length"), self.duration)
        form.addRow(self.tr("&Colour"), self.colour)
        if existing:
            note = QLabel(self.tr("Appointments already booked keep their length."))
            note.setProperty("muted", True)
            form.addRow("", note)
        form.addRow("", self.error)
        self.add_buttons(form)

    def _colour_activated(self, index: int) -> None:
        if self.colour.itemData(index) != OTHER:
            self._last_colour = index
            return
        picked = QColorDialog.getColor(QColor(self.colour.itemData(self._last_colour)), self,
                                       self.tr("Colour in the appointment book"))
        if not picked.isValid():
            self.colour.setCurrentIndex(self._last_colour)
            return
        value = picked.name()
        self.colour.insertItem(index, swatch(value), value, value)
        self.colour.setCurrentIndex(index)
        self._last_colour = index

    def save(self) -> None:
        sched, who = self.ctx.scheduling, self.session
        values = dict(name=self.name.text(), duration_minutes=self.duration.value(),
                      colour=str(self.colour.currentData()))
        if self.existing is not None:
            tid = self.existing.id

            def work() -> Any:
                return sched.update_appointment_type(who, type_id=tid, **values)
        else:
            def work() -> Any:
                return sched.add_appointment_type(who, **values)
        self.submit(work)

    def error_fields(self) -> dict[str, QWidget]:
        return self.fields
