"""``PMS_STARTUP_PROBE=1``: print when the sign-in window is first painted, then quit.

For the cold-start benchmark (``python -m bench``), which starts a real ``pms-desktop`` process
(offscreen) and measures until this line: ``sign-in window painted at <seconds since the epoch>
cpu <seconds of CPU the process used>`` on standard output. Unset, nothing changes.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

ENV = "PMS_STARTUP_PROBE"


def enabled() -> bool:
    return bool(os.environ.get(ENV))


class _FirstPaint(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            # The paint event is being delivered now: the window is on its way to the screen.
            # Report after this event is handled, so the painting itself is counted.
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        print(f"sign-in window painted at {time.time():.6f} cpu {time.process_time():.3f}",
              flush=True)
        QApplication.quit()


def quit_when_painted(window: QWidget) -> None:
    probe = _FirstPaint(window)
    window.installEventFilter(probe)
