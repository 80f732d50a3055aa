"""The patient banner: who is open, at a glance, with alerts and allergies in red.

Shown whenever a patient is open, above every screen, so that nobody acts on the wrong person.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ...services.patients_dto import BannerData
from .dates import day_text

FACT_SEPARATOR = "  ·  "
SEX = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Sex unknown"}


class PatientBanner(QFrame):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientBanner")
        self.data: BannerData | None = None
        self.name = QLabel()
        self.name.setObjectName("bannerName")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel()
        self.facts.setObjectName("bannerFacts")
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chips = QHBoxLayout()
        self.chips.setSpacing(6)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.name)
        text.addWidget(self.facts)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAccessibleName(self.tr("Close patient"))
        self.close_button.setToolTip(self.tr("Close this patient (Ctrl+W)"))
        self.close_button.clicked.connect(self.closed.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 8, 8, 8)
        row.addLayout(text)
        row.addSpacing(16)
        row.addLayout(self.chips, 1)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)

    def clear(self) -> None:
        """Nobody named while the next patient loads; the banner keeps its place (hiding and
        showing it again would lay the whole window out twice)."""
        self.data = None
        self.name.clear()
        self.facts.clear()
        self._clear_chips()

    def _clear_chips(self) -> None:
        while self.chips.count():
            item = self.chips.takeAt(0)
            chip = item.widget()
            if chip is not None:  # gone now, not at the next turn of the event loop
                chip.hide()
                chip.setParent(None)
                chip.deleteLater()

    def set_data(self, data: BannerData | None) -> None:
        self.data = data
        self.setVisible(data is not None)
        self._clear_chips()
        if data is None:
            return
        self.name.setText(data.name)
        # One separator between every part, identifiers included ("MRN …  ·  PPSN …").
        facts = [f"{data.age} y", SEX.get(data.sex, data.sex), f"Born {day_text(data.birth_date)}"]
        facts += [f"{label} {value}" for label, value in data.identifiers]
        self.facts.setText(FACT_SEPARATOR.join(facts))
        if not data.active:
            self._chip(
                self.tr("Merged record") if data.merged_into_id else self.tr("Inactive"),
                "bannerInactive",
            )
        for allergy in data.allergies:
            self._chip(self.tr("Allergy: %s") % allergy, "bannerAlert")
        for alert in data.alerts:
            self._chip(alert, "bannerAlert")
        if not data.allergies:
            self._chip(self.tr("No allergies recorded"), "muted")
        self.chips.addStretch(1)

    def _chip(self, text: str, name: str) -> Any:
        chip = QLabel(text)
        chip.setObjectName(name)
        chip.setAccessibleName(text)
        self.chips.addWidget(chip)
        return chip
