"""WeekHoursEditor: one practitioner's weekly sessions, a row per weekday, split sessions allowed.

Holds what is typed until it is saved; a refused save marks the sessions the service named
(``"{weekday}.{index}"``) and says why under their day, keeping everything typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import Any

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import mark_invalid

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SESSIONS = 6


def _qtime(t: time) -> QTime:
    return QTime(t.hour, t.minute)


def _pytime(q: QTime) -> time:
    return time(q.hour(), q.minute())


class SessionEdit(QWidget):
    """From–to of one session, and a button that removes it."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, start: time, end: time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start, self.end = QTimeEdit(_qtime(start)), QTimeEdit(_qtime(end))
        for edit, name in ((self.start, self.tr("Session starts")),
                           (self.end, self.tr("Session ends"))):
            edit.setDisplayFormat("HH:mm")
            edit.setAccessibleName(name)
            edit.timeChanged.connect(lambda _t: self.changed.emit())
        self.remove = QToolButton()
        self.remove.setText("×")
        self.remove.setAccessibleName(self.tr("Remove this session"))
        self.remove.setToolTip(self.tr("Remove this session"))
        self.remove.setAutoRaise(True)
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 8, 0)
        row.setSpacing(4)
        row.addWidget(self.start)
        row.addWidget(QLabel("–"))
        row.addWidget(self.end)
        row.addWidget(self.remove)

    def span(self) -> tuple[time, time]:
        return _pytime(self.start.time()), _pytime(self.end.time())

    def set_invalid(self, invalid: bool) -> None:
        mark_invalid(self.start, invalid)
        mark_invalid(self.end, invalid)


class DayRow:
    """One weekday: its sessions, an "add" button, a "not working" note and an error line."""

    def __init__(self, editor: WeekHoursEditor, weekday: int) -> None:
        self.editor, self.weekday = editor, weekday
        self.sessions: list[SessionEdit] = []
        self.box = QWidget()
        self.line = QHBoxLayout(self.box)
        self.line.setContentsMargins(0, 0, 0, 0)
        self.line.setSpacing(0)
        self.off = QLabel(editor.tr("Not working"))
        self.off.setProperty("muted", True)
        self.line.addWidget(self.off)
        self.line.addStretch(1)
        self.add = QToolButton()
        self.add.setText(editor.tr("+ Session"))
        self.add.setAccessibleName(editor.tr("Add a session on {day}").format(day=DAYS[weekday]))
        self.add.clicked.connect(self.add_session)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()

    def set_spans(self, spans: Iterable[tuple[time, time]]) -> None:
        for s in list(self.sessions):
            self._drop(s)
        for start, end in spans:
            self._append(start, end)
        self._refresh()

    def spans(self) -> list[tuple[time, time]]:
        return [s.span() for s in self.sessions]

    def add_session(self) -> None:
        if self.sessions:
            last_end = self.sessions[-1].span()[1]
            start = time(min(last_end.hour + 1, 22), last_end.minute)
            end = time(min(start.hour + 3, 23), start.minute)
        else:
            start, end = time(9), time(17)
        self._append(start, end)
        self._refresh()
        self.sessions[-1].start.setFocus()
        self.editor.edited()

    def _append(self, start: time, end: time) -> None:
        s = SessionEdit(start, end)
        s.changed.connect(self.editor.edited)
        s.remove_requested.connect(self._remove)
        self.line.insertWidget(len(self.sessions), s)
        self.sessions.append(s)

    def _remove(self, s: SessionEdit) -> None:
        self._drop(s)
        self._refresh()
        self.editor.edited()

    def _drop(self, s: SessionEdit) -> None:
        self.sessions.remove(s)
        self.line.removeWidget(s)
        s.hide()
        s.deleteLater()

    def _refresh(self) -> None:
        self.off.setVisible(not self.sessions)
        self.add.setEnabled(len(self.sessions) < MAX_SESSIONS)

    def show_errors(self, errors: dict[str, str]) -> None:
        texts = []
        for i, s in enumerate(self.sessions):
            text = errors.get(f"{self.weekday}.{i}")
            s.set_invalid(text is not None)
            if text:
                texts.append(text)
        texts += [v for k, v in errors.items() if k.startswith(f"{self.weekday}.")
                  and int(k.split(".")[1]) >= len(self.sessions)]
        self.error.setText("\n".join(texts))
        self.error.setVisible(bool(texts))


class WeekHoursEditor(QWidget):
    edited_signal = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weekHoursEditor")
        self.dirty = False
        self.days = [DayRow(self, d) for d in range(7)]
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        grid.setColumnMinimumWidth(0, 96)
        grid.setColumnStretch(1, 1)
        for d, row in enumerate(self.days):
            label = QLabel(self.tr(DAYS[d]))
            label.setBuddy(row.add)
            grid.addWidget(label, 2 * d, 0)
            grid.addWidget(row.box, 2 * d, 1)
            grid.addWidget(row.add, 2 * d, 2)
            grid.addWidget(row.error, 2 * d + 1, 1, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)

    def edited(self) -> None:
        self.dirty = True
        self.edited_signal.emit()

    def set_hours(self, hours: Iterable[Any]) -> None:
        """``WorkingHoursInfo`` rows (any order)."""
        by_day: dict[int, list[tuple[time, time]]] = {d: [] for d in range(7)}
        for h in hours:
            by_day[h.weekday].append((h.start_time, h.end_time))
        for d, row in enumerate(self.days):
            row.set_spans(sorted(by_day[d]))
        self.clear_errors()
        self.dirty = False

    def week(self) -> dict[int, list[tuple[time, time]]]:
        return {d: row.spans() for d, row in enumerate(self.days)}

    def copy_monday_to_weekdays(self) -> None:
        spans = self.days[0].spans()
        for row in self.days[1:5]:
            row.set_spans(spans)
        self.edited()

    def show_errors(self, errors: dict[str, str]) -> None:
        for row in self.days:
            row.show_errors(errors)

    def clear_errors(self) -> None:
        self.show_errors({})

    def has_hours(self) -> bool:
        return any(row.sessions for row in self.days)
