"""LeaveDialog: record a practitioner's leave (whole days, or from a time to a time).

Dates and times are the clinic's (its time zone), whatever the workstation's zone. A refused
save marks the field the service named and keeps what was typed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QTimeEdit,
    QWidget,
)

from ...domain.session import StaffSession
from ..save_dialog import SaveDialog


def _date(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


def _qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


class LeaveDialog(SaveDialog):
    def __init__(self, ctx: Any, session: StaffSession, practitioner: Any, timezone: str,
                 parent: QWidget | None = None, *, today: date | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.practitioner = ctx, session, practitioner
        self.zone = ZoneInfo(timezone)
        self.setObjectName("leaveDialog")
        self.setWindowTitle(self.tr("Leave for {name}").format(name=practitioner.name))
        self.setMinimumWidth(440)
        first = today or datetime.now(self.zone).date()
        self.from_date, self.to_date = QDateEdit(_qdate(first)), QDateEdit(_qdate(first))
        self.from_time, self.to_time = QTimeEdit(QTime(9, 0)), QTimeEdit(QTime(13, 0))
        for edit in (self.from_date, self.to_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("ddd d MMM yyyy")
        for clock in (self.from_time, self.to_time):
            clock.setDisplayFormat("HH:mm")
        self.from_date.setAccessibleName(self.tr("First day"))
        self.to_date.setAccessibleName(self.tr("Last day"))
        self.whole_days = QCheckBox(self.tr("Whole days"))
        self.whole_days.setChecked(True)
        self.whole_days.toggled.connect(self._whole_days_toggled)
        self.from_date.dateChanged.connect(self._from_changed)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(self.tr("Annual leave, conference, course…"))
        self.reason.setMaxLength(200)
        form = QFormLayout(self)
        form.addRow(self.tr("&From"), self._pair(self.from_date, self.from_time))
        form.addRow(self.tr("&To"), self._pair(self.to_date, self.to_time))
        form.addRow("", self.whole_days)
        form.addRow(self.tr("&Reason"), self.reason)
        form.addRow("", self.error)
        self.add_buttons(form)
        self._whole_days_toggled(True)

    def _pair(self, a: QWidget, b: QWidget) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(a, 1)
        row.addWidget(b)
        return box

    def _whole_days_toggled(self, whole: bool) -> None:
        self.from_time.setVisible(not whole)
        self.to_time.setVisible(not whole)

    def _from_changed(self, q: QDate) -> None:
        # Moving the first day past the last one carries the last one along (a typo is rarer
        # than a person picking the start first).
        if self.to_date.date() < q and not self.to_date.property("invalid"):
            self.to_date.setDate(q)

    def period(self) -> tuple[datetime, datetime]:
        first, last = _date(self.from_date.date()), _date(self.to_date.date())
        if self.whole_days.isChecked():
            return (datetime.combine(first, time(0), self.zone),
                    datetime.combine(last + timedelta(days=1), time(0), self.zone))
        start, end = self.from_time.time(), self.to_time.time()
        return (datetime.combine(first, time(start.hour(), start.minute()), self.zone),
                datetime.combine(last, time(end.hour(), end.minute()), self.zone))

    def save(self) -> None:
        start, end = self.period()
        sched, who = self.ctx.scheduling, self.session
        pid, reason = self.practitioner.id, self.reason.text()
        self.submit(lambda: sched.add_leave(who, practitioner_id=pid, start_at=start,
                                            end_at=end, reason=reason))

    def error_fields(self) -> dict[str, QWidget | tuple[QWidget, QWidget]]:
        return {"start_at": (self.from_date, self.from_time),
                "end_at": (self.to_date, self.to_time), "reason": self.reason}
