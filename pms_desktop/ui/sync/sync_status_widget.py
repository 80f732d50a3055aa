"""The sync state in the main window's status bar: online or not, last sync, what waits.

"Reception 1 │ ● Synced 2 min ago · 3 to send · ⚠ 1 conflict · Sync now" (this workstation's
name first, as a clinic admin set it). The conflicts button opens the
conflicts window; "Sync now" asks the controller for a sync as the signed-in person. A bar shows
the progress of a long download (a new workstation's first sync). It shows counts, never
patient data, and is disabled while the window is locked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets.change_bus import change_bus
from ..widgets.dates import day_time_text
from .conflict_format import relative
from .sync_controller import SyncController

GREEN, AMBER, RED, GREY, BLUE = "#2e9d5b", "#c77700", "#b3261e", "#8a96a3", "#1f6f8b"
BIG_PULL = 500  # a pull longer than a page shows a progress bar


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class SyncStatusWidget(QWidget):
    def __init__(self, controller: SyncController, ctx: Any, session: StaffSession,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller, self.ctx, self.session = controller, ctx, session
        self.setObjectName("syncStatus")
        self.conflicts_window: Any = None
        self.workstation = QLabel()
        self.workstation.setObjectName("syncWorkstation")
        self.workstation.setToolTip(self.tr("This workstation's name (Administration › Sync)"))
        self.workstation.hide()
        self.state = QLabel()
        self.state.setObjectName("syncState")
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setFixedWidth(150)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.pending = QLabel()
        self.pending.setObjectName("syncPending")
        self.attention = QToolButton()
        self.attention.setObjectName("syncConflicts")
        self.attention.setStyleSheet(f"QToolButton {{ color: {RED}; font-weight: 600; }}")
        self.attention.setToolTip(self.tr("Open the sync conflicts to resolve them"))
        self.attention.clicked.connect(self.open_conflicts)
        self.attention.hide()
        self.sync_button = QToolButton()
        self.sync_button.setObjectName("syncNow")
        self.sync_button.setText(self.tr("⟳ Sync now"))
        self.sync_button.setAccessibleName(self.tr("Sync now"))
        self.sync_button.clicked.connect(self.sync_now)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 4, 0)
        row.setSpacing(2)
        for w in (self.workstation, self.state, self.progress, self.pending, self.attention,
                  self.sync_button):
            row.addWidget(w)
        change_bus(ctx).changed.connect(self._changed)
        run_op(self, ctx.workstation.current, lambda ws: self._named(ws.name))
        controller.status_changed.connect(self._render)
        controller.sync_started.connect(self._render)
        controller.sync_finished.connect(self._finished)
        controller.sync_failed.connect(self._render)
        controller.sync_progress.connect(self._progressed)
        self.clock = QTimer(self)  # keeps "2 min ago" true
        self.clock.timeout.connect(self._render)
        self.clock.start(30_000)
        self._render()

    # -- showing -------------------------------------------------------------------------------

    def _named(self, name: str | None) -> None:
        self.workstation.setText(f"{name} │" if name else "")
        self.workstation.setVisible(bool(name))

    def _changed(self, topic: str, info: dict[str, Any]) -> None:
        if topic == "workstation.renamed":
            self._named(info.get("name"))

    def _render(self, *_: Any) -> None:
        c, status = self.controller, self.controller.status
        colour, text, tip = self._state(c, status)
        self.state.setText(f"<span style='color:{colour}'>●</span> {text}")
        self.state.setToolTip(tip)
        pending = status.pending_changes if status is not None else 0
        self.pending.setText(self.tr("%s to send") % pending if pending else "")
        self.pending.setVisible(bool(pending))
        self.pending.setToolTip(self.tr("Changes made here that the other workstations do not "
                                        "have yet"))
        words = []
        if status is not None and status.conflicts:
            words.append(plural(status.conflicts, self.tr("conflict"), self.tr("conflicts")))
        if status is not None and status.quarantined:
            words.append(plural(status.quarantined, self.tr("change not sent"),
                                self.tr("changes not sent")))
        self.attention.setText("⚠ " + ", ".join(words) if words else "")
        self.attention.setVisible(bool(words))
        enrolled = status is not None and status.enrolled
        self.sync_button.setEnabled(enrolled and not c.running)
        if not c.running:
            self.progress.hide()

    def _state(self, c: SyncController, status: Any) -> tuple[str, str, str]:
        if status is not None and not status.enrolled:
            return GREY, self.tr("Sync not set up"), self.tr(
                "This workstation is not enrolled with a sync server yet. A clinic admin can "
                "enrol it under Administration › Sync.")
        last = status.last_sync_at if status is not None else None
        server = status.server_url if status is not None else ""
        when = relative(last, datetime.now(UTC))
        if c.running:
            return BLUE, self.tr("Syncing…"), server or ""
        if c.offline:
            tip = c.last_error or ""
            if c.next_at is not None:
                tip += self.tr(" Next try in about %s.") % _seconds(c.next_at)
            return AMBER, self.tr("Offline · last sync %s") % when, tip.strip()
        if status is not None and status.audit_refused:
            return RED, self.tr("Access log refused"), status.audit_refused
        if c.last_error:
            return RED, self.tr("Sync problem"), c.last_error
        if last is None:
            return GREY, self.tr("Not synced yet"), server or ""
        exact = day_time_text(last.astimezone())
        return GREEN, self.tr("Synced %s") % when, self.tr("Last sync %s with %s") % (exact, server)

    def _progressed(self, phase: str, done: int, total: int) -> None:
        if phase != "pull" or total < BIG_PULL:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        self.progress.setToolTip(self.tr("Downloading the clinic's records: %d%%")
                                 % (100 * done // max(total, 1)))
        self.progress.show()
        self.state.setText(f"<span style='color:{BLUE}'>●</span> "
                           + self.tr("Downloading… %d%%") % (100 * done // max(total, 1)))

    def _finished(self, result: Any) -> None:
        self.progress.hide()
        self._render()

    # -- actions -------------------------------------------------------------------------------

    def sync_now(self) -> None:
        self.controller.sync("person", self.session)
        self._render()

    def open_conflicts(self) -> Any:
        from .conflicts_window import ConflictsWindow

        window = self.conflicts_window
        if window is None:
            window = ConflictsWindow(self.ctx, self.session, self.window())
            window.destroyed.connect(self._window_gone)
            self.conflicts_window = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _window_gone(self, *_: Any) -> None:
        self.conflicts_window = None

    def set_locked(self, locked: bool) -> None:
        """Nothing behind the lock: the conflicts window (patient data) closes."""
        self.setEnabled(not locked)
        if locked and self.conflicts_window is not None:
            self.conflicts_window.close()


def _seconds(at: float) -> str:
    import time

    left = max(0, int(at - time.monotonic()))
    return f"{left} s" if left < 90 else f"{round(left / 60)} min"
