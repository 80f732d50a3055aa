"""The waiting room: patients who have arrived today, and the "Start consultation" action.

Clinicians see it next to their book; it refreshes when the schedule changes and every half
minute (waiting times grow). "Start consultation" emits ``consultation_requested``; the main
window starts the encounter (clinical service) and opens the chart.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.permissions import Permission, allows
from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets.change_bus import change_bus
from ..widgets.placeholder_table_view import PlaceholderTableView
from .waiting_room_table_model import WaitingRoomTableModel

COLUMN_GAP = 24  # pixels between one column's widest entry and the next column
PATIENT_MIN_WIDTH = 220  # a usual name without the columns moving as patients come and go


class WaitingRoomPanel(QWidget):
    consultation_requested = Signal(str, str)  # appointment_id, patient_id
    refreshed = Signal()

    def __init__(self, ctx: Any, session: StaffSession, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window = ctx, session, main_window
        self.setObjectName("waitingRoom")
        self.model = WaitingRoomTableModel("UTC", self)
        self._build()
        self._loading = False
        change_bus(ctx).changed.connect(self._on_changed)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(30_000)
        self.refresh()

    def _build(self) -> None:
        title = QLabel(self.tr("Waiting room"))
        title.setObjectName("screenTitle")
        self.count = QLabel()
        self.count.setObjectName("muted")
        self.mine = QCheckBox(self.tr("Only my patients"))
        self.mine.setVisible(self.session.practitioner_id is not None)
        self.mine.setChecked(self.session.practitioner_id is not None)
        self.mine.toggled.connect(self.refresh)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addWidget(self.count)
        head.addStretch(1)
        head.addWidget(self.mine)
        self.table = PlaceholderTableView()
        self.table.setObjectName("waitingTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        # Each column as wide as its widest entry and a gap, headings over their text, the room
        # left over after Status (a stretched Patient column pushed the rest to the right edge,
        # Appointment and Status running together).
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.doubleClicked.connect(self._open_patient)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.start_button = QPushButton(self.tr("Start consultation"))
        self.start_button.setProperty("primary", True)
        self.start_button.setToolTip(
            self.tr("Start the consultation with the selected patient (Enter)")
        )
        self.start_button.clicked.connect(self.start_selected)
        self.can_start = allows(self.session.role, Permission.WRITE_CLINICAL)
        self.start_button.setVisible(self.can_start)
        self.open_button = QPushButton(self.tr("Open patient"))
        self.open_button.clicked.connect(lambda: self._open_patient(self.table.currentIndex()))
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.addLayout(head)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, self.start_selected)
        self._fit_columns()
        self._update_buttons()

    def refresh(self) -> None:
        if self._loading:
            return
        self._loading = True
        prac = self.session.practitioner_id if self.mine.isChecked() else None
        sched, who = self.ctx.scheduling, self.session
        run_op(
            self,
            lambda: (sched.hours(who).timezone, sched.waiting_room(who, practitioner_id=prac)),
            self._loaded,
            self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self._loading = False
        from ..errors import show_error

        show_error(self, error)

    def _loaded(self, result: tuple[str, list[Any]]) -> None:
        self._loading = False
        timezone, rows = result
        current = self.selected()
        self.model.tz = ZoneInfo(timezone)
        self.model.set_rows(rows)
        self._fit_columns()
        waiting = sum(1 for r in rows if r.status == "arrived")
        self.count.setText(self.tr("%n waiting", "", waiting))
        self.table.set_placeholder(
            self.tr("None of your patients has checked in yet today.")
            if self.session.practitioner_id is not None and self.mine.isChecked()
            else self.tr("No one has checked in yet today.")
        )
        if current:
            for i, r in enumerate(rows):
                if r.appointment_id == current.appointment_id:
                    self.table.selectRow(i)
        self._update_buttons()
        self.refreshed.emit()

    def _fit_columns(self) -> None:
        for col in range(self.model.columnCount() - 1):
            self.table.resizeColumnToContents(col)
            minimum = PATIENT_MIN_WIDTH if col == 2 else 0
            self.table.setColumnWidth(col, max(minimum, self.table.columnWidth(col) + COLUMN_GAP))

    def _on_changed(self, topic: str, _info: dict[str, Any]) -> None:
        if topic.startswith(("schedule", "clinical", "sync.")):  # sync.: pulled or resolved
            self.refresh()

    def selected(self) -> Any:
        return self.model.entry(self.table.currentIndex().row())

    def _update_buttons(self) -> None:
        e = self.selected()
        self.start_button.setEnabled(e is not None and e.status == "arrived")
        self.open_button.setEnabled(e is not None)

    def start_selected(self) -> None:
        e = self.selected()
        if e is not None and e.status == "arrived" and self.can_start:
            self.consultation_requested.emit(e.appointment_id, e.patient_id)

    def _open_patient(self, index: QModelIndex) -> None:
        e = self.model.entry(index.row())
        if e is not None and self.main_window is not None:
            self.main_window.open_patient(e.patient_id)
