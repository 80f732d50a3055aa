"""The chart's left column: allergies (red), problems, current medications, latest vitals.

Read-only text built from one ``ChartSummary``; the small "+" buttons ask the panel to add an
allergy, a problem or a medication (``add_requested(kind)``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .chart_format import ALERT_RED, MUTED, ClinicClock, vital_text


class ChartSummaryColumn(QScrollArea):
    add_requested = Signal(str)  # allergy | problem | medication
    status_requested = Signal(str, str)  # (problem | medication, its id): resolve / stop it

    def __init__(self, clock: ClinicClock, can_write: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.can_write = can_write
        self.setObjectName("chartSummary")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(250)
        self.setMaximumWidth(300)
        body = QWidget()
        body.setObjectName("chartSummaryBody")
        body.setStyleSheet("#chartSummaryBody { background: #f6f8fa; }"
                           " QLabel[role='section'] { font-weight: 600; color: #1d2733;"
                           " padding-top: 6px; }")
        self.setWidget(body)
        self.layout_ = QVBoxLayout(body)
        self.layout_.setContentsMargins(14, 10, 14, 10)
        self.layout_.setSpacing(4)
        self.allergies = self._section(self.tr("Allergies"), "allergy", can_write)
        self.problems = self._section(self.tr("Problems"), "problem", can_write)
        self.medications = self._section(self.tr("Current medications"), "medication", can_write)
        self.vitals = self._section(self.tr("Latest vitals"), None, False)
        self.layout_.addStretch(1)

    def _section(self, title: str, kind: str | None, can_write: bool) -> QLabel:
        head = QHBoxLayout()
        label = QLabel(title)
        label.setProperty("role", "section")
        head.addWidget(label)
        head.addStretch(1)
        if kind and can_write:
            button = QToolButton()
            button.setText("+")
            button.setObjectName(f"add_{kind}")
            button.setAccessibleName(self.tr("Add %s") % kind)
            button.setToolTip(self.tr("Add %s") % kind)
            button.setAutoRaise(True)
            button.clicked.connect(lambda: self.add_requested.emit(kind))
            head.addWidget(button)
        self.layout_.addLayout(head)
        text = QLabel()
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        text.linkActivated.connect(self._link)
        self.layout_.addWidget(text)
        return text

    def clear(self) -> None:
        """Empty until the next summary (another patient is being opened)."""
        for label in (self.allergies, self.problems, self.medications, self.vitals):
            label.clear()

    def set_summary(self, summary: Any) -> None:
        self.allergies.setText(self._allergies(summary.allergies))
        self.problems.setText(self._list(
            [escape(p.display) + (f" <span style='color:{MUTED}'>since {p.onset:%Y}</span>"
                                  if p.onset else "")
             + self._action("problem", p.id, self.tr("resolve"))
             for p in summary.problems],
            self.tr("No active problems")))
        self.medications.setText(self._list(
            [f"<b>{escape(m.name)}</b> " + escape(" ".join(x for x in (m.dose, m.frequency) if x))
             + self._action("medication", m.id, self.tr("stop"))
             for m in summary.medications], self.tr("None recorded")))
        rows = []
        for o in summary.latest_vitals:
            label, value = vital_text(o)
            colour = ALERT_RED if o.abnormal else "#1d2733"
            rows.append(f"<tr><td style='color:{MUTED}; padding-right:8px'>{escape(label)}</td>"
                        f"<td style='color:{colour}'>{escape(value)}</td></tr>")
        latest = summary.latest_vitals
        when = self.clock.date(latest[0].effective_at) if latest else ""
        self.vitals.setText(
            f"<table>{''.join(rows)}</table><span style='color:{MUTED}'>{when}</span>"
            if rows else f"<span style='color:{MUTED}'>{self.tr('None recorded')}</span>")

    def _action(self, kind: str, item_id: str, text: str) -> str:
        if not self.can_write:
            return ""
        return (f" <a href='{kind}:{escape(item_id)}' style='color:{MUTED}; font-size:small'>"
                f"{escape(text)}</a>")

    def _link(self, href: str) -> None:
        kind, _, item_id = href.partition(":")
        if kind in ("problem", "medication") and item_id:
            self.status_requested.emit(kind, item_id)

    def _allergies(self, allergies: Any) -> str:
        if not allergies:
            # Not 'No known allergies': that is a finding someone recorded, and nobody has here.
            return f"<span style='color:{MUTED}'>{self.tr('No allergies recorded')}</span>"
        items = []
        for a in allergies:
            extra = ", ".join(x for x in (a.reaction, a.severity) if x)
            items.append(f"<span style='color:{ALERT_RED}; font-weight:600'>⚠ {escape(a.substance)}"
                         f"</span><span style='color:{ALERT_RED}'>"
                         f"{' — ' + escape(extra) if extra else ''}</span>")
        return "<br>".join(items)

    @staticmethod
    def _list(items: list[str], empty: str) -> str:
        if not items:
            return f"<span style='color:{MUTED}'>{escape(empty)}</span>"
        return "<br>".join(f"• {i}" for i in items)
