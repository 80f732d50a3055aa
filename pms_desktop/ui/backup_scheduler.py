"""Runs the daily scheduled backup in the background while the application is open.

Every ``interval_ms`` (an hour) and once shortly after start, it asks the backup service whether
a backup is due (the service decides from the schedule in the settings and the last run) and runs
it off the GUI thread. A failure is reported as a status message and retried at the next tick;
it never interrupts the person at the desk.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from .errors import message_for
from .ops import run_op

log = logging.getLogger(__name__)


class BackupScheduler(QObject):
    backup_made = Signal(str)
    backup_failed = Signal(str)

    def __init__(self, ctx: Any, parent: QObject | None = None, *, interval_ms: int = 3_600_000,
                 first_after_ms: int = 60_000) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._running = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(interval_ms)
        QTimer.singleShot(first_after_ms, self.tick)

    def tick(self) -> None:
        if self._running:
            return
        self._running = True
        run_op(None, self.ctx.backups.run_scheduled_if_due, self._done, self._failed)

    def _done(self, result: Any) -> None:
        self._running = False
        if result is not None:
            self.backup_made.emit(str(result.path))

    def _failed(self, error: BaseException) -> None:
        self._running = False
        text = message_for(error) or "The scheduled backup did not run."
        log.warning("scheduled backup failed: %s", type(error).__name__)
        self.backup_failed.emit(text)
