"""ScheduleTab: each practitioner's weekly working hours and leave (Administration › Hours & leave).

The practitioners are listed on the left; the one chosen shows its week (split sessions allowed)
and its leave. Changes are saved through ``ctx.scheduling`` off the GUI thread; the appointment
book reloads on the "schedule.changed" fact the service sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ValidationError
from ...domain.session import StaffSession
from ..errors import show_error
from ..ops import run_op
from ..widgets.change_bus import change_bus
from ..widgets.placeholder_table_view import PlaceholderTableView
from .leave_dialog import LeaveDialog
from .leave_table_model import LeaveTableModel
from .week_hours_editor import WeekHoursEditor


class ScheduleTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, status: Any = None,
                 timezone: str = "UTC") -> None:
        super().__init__()
        self.ctx, self.session, self.status, self.timezone = ctx, session, status, timezone
        self.setObjectName("scheduleTab")
        self.practitioners: list[Any] = []
        self.current: Any = None
        self.practitioner_list = QListWidget()
        self.practitioner_list.setObjectName("practitionerList")
        self.practitioner_list.setAccessibleName(self.tr("Practitioners"))
        self.practitioner_list.setFixedWidth(220)
        self.practitioner_list.currentRowChanged.connect(self._chosen)
        layout = QHBoxLayout(self)
        layout.addWidget(self.practitioner_list)
        right = QVBoxLayout()
        right.addWidget(self._hours_box(), 0)
        right.addWidget(self._leave_box(), 1)
        layout.addLayout(right, 1)
        self._set_enabled(False)
        change_bus(ctx).changed.connect(self._on_changed)
        self.reload()

    def _on_changed(self, topic: str, _info: dict[str, Any]) -> None:
        # Hours or leave pulled from another workstation: shown, unless a person is typing.
        if topic.startswith("sync.") and not self.editor.dirty:
            self.load_current()

    # --- layout --------------------------------------------------------------------------------

    def _hours_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Weekly working hours"))
        self.hours_box = box
        self.editor = WeekHoursEditor()
        self.editor.edited_signal.connect(self._edited)
        self.hours_note = QLabel()
        self.hours_note.setProperty("muted", True)
        self.hours_note.setWordWrap(True)
        self.save_hours_button = QPushButton(self.tr("Save hours"))
        self.save_hours_button.setProperty("primary", True)
        self.save_hours_button.clicked.connect(self.save_hours)
        self.revert_button = QPushButton(self.tr("Undo changes"))
        self.revert_button.clicked.connect(self.load_current)
        self.copy_button = QPushButton(self.tr("Copy Monday to Tue–Fri"))
        self.copy_button.clicked.connect(self.editor.copy_monday_to_weekdays)
        bar = QHBoxLayout()
        bar.addWidget(self.hours_note, 1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.revert_button)
        bar.addWidget(self.save_hours_button)
        v = QVBoxLayout(box)
        v.addWidget(self.editor)
        v.addLayout(bar)
        return box

    def _leave_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Leave"))
        self.leave_box = box
        self.leave_model = LeaveTableModel(self.timezone, self)
        self.leave_table = PlaceholderTableView()
        self.leave_table.setObjectName("leaveTable")
        self.leave_table.setModel(self.leave_model)
        self.leave_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.leave_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.leave_table.setAlternatingRowColors(True)
        self.leave_table.verticalHeader().hide()
        self.leave_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.add_leave_button = QPushButton(self.tr("Add leave…"))
        self.add_leave_button.clicked.connect(self.add_leave)
        self.remove_leave_button = QPushButton(self.tr("Remove leave"))
        self.remove_leave_button.clicked.connect(self.remove_leave)
        self.show_past = QCheckBox(self.tr("Show past leave"))
        self.show_past.toggled.connect(lambda _on: self.load_leave())
        bar = QHBoxLayout()
        bar.addWidget(self.add_leave_button)
        bar.addWidget(self.remove_leave_button)
        bar.addStretch(1)
        bar.addWidget(self.show_past)
        v = QVBoxLayout(box)
        v.addLayout(bar)
        v.addWidget(self.leave_table)
        # Remove acts on the chosen leave: offered once one is chosen
        self.leave_table.selectionModel().selectionChanged.connect(lambda *_: self._leave_chosen())
        self.leave_model.modelReset.connect(self._leave_chosen)
        self._leave_chosen()
        return box

    def _leave_chosen(self) -> None:
        self.remove_leave_button.setEnabled(self.leave_table.selectionModel().hasSelection())

    def _set_enabled(self, on: bool) -> None:
        for w in (self.hours_box, self.leave_box):
            w.setEnabled(on)

    # --- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        sched, who = self.ctx.scheduling, self.session
        run_op(self, lambda: sched.practitioners(who), self._practitioners_loaded)

    def _practitioners_loaded(self, rows: list[Any]) -> None:
        keep = self.current.id if self.current else None
        self.practitioners = list(rows)
        self.practitioner_list.blockSignals(True)
        self.practitioner_list.clear()
        for p in rows:
            item = QListWidgetItem(p.name + (f"\n{p.specialty}" if p.specialty else ""))
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            self.practitioner_list.addItem(item)
        self.practitioner_list.blockSignals(False)
        ids = [p.id for p in rows]
        if rows:
            self.practitioner_list.setCurrentRow(ids.index(keep) if keep in ids else 0)
        else:
            self.hours_note.setText(self.tr("No practitioners yet."))

    def _chosen(self, row: int) -> None:
        chosen = self.practitioners[row] if 0 <= row < len(self.practitioners) else None
        if chosen is None or (self.current is not None and chosen.id == self.current.id):
            return
        if self.editor.dirty and not self._discard_ok():
            self.practitioner_list.blockSignals(True)
            self.practitioner_list.setCurrentRow(self.practitioners.index(self.current))
            self.practitioner_list.blockSignals(False)
            return
        self.current = chosen
        self.hours_box.setTitle(self.tr("Weekly working hours of {name}").format(name=chosen.name))
        self.load_current()

    def _discard_ok(self) -> bool:
        answer = QMessageBox.question(
            self, self.tr("Unsaved hours"),
            self.tr("Discard the changes to {name}'s hours?").format(name=self.current.name))
        return answer == QMessageBox.StandardButton.Yes

    def load_current(self) -> None:
        if self.current is None:
            return
        sched, who, pid = self.ctx.scheduling, self.session, self.current.id
        self._set_enabled(False)
        run_op(self, lambda: sched.working_hours(who, practitioner_id=pid), self._hours_loaded)
        self.load_leave()

    def _hours_loaded(self, hours: list[Any]) -> None:
        self.editor.set_hours(hours)
        self._set_enabled(True)
        self._note()

    def load_leave(self) -> None:
        if self.current is None:
            return
        sched, who, pid = self.ctx.scheduling, self.session, self.current.id
        since = None if self.show_past.isChecked() else datetime.now(UTC)
        past = self.show_past.isChecked()

        def loaded(items: Any) -> None:
            self.leave_model.reset_items(items)
            self.leave_table.set_placeholder(
                self.tr("No leave recorded.") if past else self.tr("No leave booked from today on.")
            )

        run_op(self, lambda: sched.leave(who, practitioner_id=pid, since=since), loaded)

    def _edited(self) -> None:
        self._note()

    def _note(self) -> None:
        if self.editor.dirty:
            text = self.tr("Changes not saved yet.")
        elif not self.editor.has_hours():
            text = self.tr("No hours set: bookable at any time the clinic is open.")
        else:
            text = ""
        self.hours_note.setText(text)

    # --- changes -------------------------------------------------------------------------------

    def save_hours(self) -> None:
        if self.current is None:
            return
        sched, who = self.ctx.scheduling, self.session
        pid, week = self.current.id, self.editor.week()
        name = self.current.name
        self.save_hours_button.setEnabled(False)

        def done(hours: list[Any]) -> None:
            self.save_hours_button.setEnabled(True)
            self.editor.set_hours(hours)
            self._note()
            self._status(self.tr("Working hours of {name} saved.").format(name=name))

        def failed(error: BaseException) -> None:
            self.save_hours_button.setEnabled(True)
            if isinstance(error, ValidationError):
                self.editor.show_errors(error.field_errors)
                self.hours_note.setText(self.tr("Not saved: correct the sessions marked."))
            else:
                show_error(self, error)

        run_op(self, lambda: sched.set_week_hours(who, practitioner_id=pid, week=week),
               done, failed)

    def add_leave(self) -> None:
        if self.current is None:
            return
        dialog = LeaveDialog(self.ctx, self.session, self.current, self.timezone, self)
        dialog.accepted.connect(lambda: self._leave_added(dialog.saved))
        dialog.open()
        self.leave_dialog = dialog

    def _leave_added(self, info: Any) -> None:
        self.load_leave()
        n = getattr(info, "appointments_inside", 0)
        self._status(self.tr("Leave recorded.") if not n else self.tr(
            "Leave recorded. {n} booked appointment(s) fall in it: move them.").format(n=n))

    def remove_leave(self) -> None:
        rows = self.leave_table.selectionModel().selectedRows()
        leave = self.leave_model.item(rows[0].row()) if rows else None
        if leave is None:
            return
        sched, who = self.ctx.scheduling, self.session

        def done(_r: Any) -> None:
            self.load_leave()
            self._status(self.tr("Leave removed."))

        run_op(self, lambda: sched.cancel_leave(who, leave_id=leave.id), done)

    def _status(self, text: str) -> None:
        if self.status is not None:
            self.status(text)
