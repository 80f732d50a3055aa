"""Python's garbage collector runs on the GUI thread only.

CPython collects in whichever thread happens to allocate past a threshold. In this application
that is often a worker thread (a service call run by ``ops.run_op``, the sync thread), and a
collection there can free a cycle holding Qt wrappers (a widget and the closure connected to
its signal), so Qt deletes a GUI object from the wrong thread: a segmentation fault, seen in
the test suite while a chart loaded. So automatic collection is switched off and a timer on the
GUI thread collects instead, the generation CPython itself would have chosen (from the same
counts and thresholds, so ``sync.collect_less`` still spaces collections out during a sync).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold; -1 when none did."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = -1
        for generation, (count, threshold) in enumerate(zip(counts, thresholds, strict=True)):
            if count > threshold:
                due = generation
        if due >= 0:
            gc.collect(due)
        return due

    def stop(self) -> None:
        """Back to CPython's own collection (a test's end; the application never stops it)."""
        self.timer.stop()
        if self._was_enabled:
            gc.enable()

