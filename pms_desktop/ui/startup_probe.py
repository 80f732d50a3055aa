"""``PMS_STARTUP_PROBE=1``: print when the sign-in window is first painted, then quit.

For the cold-start benchmark (``python -m bench``), which starts a real ``pms-desktop`` process
(offscreen) and measures until this line: ``sign-in window painted at <seconds since the epoch>
cpu <seconds of CPU the process used>`` on standard output. Unset, nothing changes.

``after_first_paint(window, fn)``: what the start leaves until the sign-in window is on the
screen (``ui/app.py``) runs then.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

ENV = "PMS_STARTUP_PROBE"


def enabled() -> bool:
    return bool(os.environ.get(ENV))


class _FirstPaint(QObject):
    def __init__(self, window: QWidget, fn: Callable[[], None], at_latest_ms: int | None) -> None:
        super().__init__(window)
        self.fn, self.done = fn, False
        window.installEventFilter(self)
        if at_latest_ms is not None:  # a window never painted (hidden, minimised) still gets it
            QTimer.singleShot(at_latest_ms, self, self._run)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            # The paint event is being delivered now: the window is on its way to the screen.
            # Run after this event is handled, so the painting itself comes first.
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self, self._run)
        return False

    def _run(self) -> None:
        if not self.done:
            self.done = True
            self.fn()


def after_first_paint(window: QWidget, fn: Callable[[], None], *,
                      at_latest_ms: int | None = None) -> None:
    """``fn()`` on the GUI thread once, just after ``window`` is first painted (or after
    ``at_latest_ms``, whichever comes first)."""
    _FirstPaint(window, fn, at_latest_ms)


def _report() -> None:
    print(f"sign-in window painted at {time.time():.6f} cpu {time.process_time():.3f}",
          flush=True)
    QApplication.quit()


def quit_when_painted(window: QWidget) -> None:
    after_first_paint(window, _report)
