"""Run work off the GUI thread and get the result (or the error) back on it.

``run_op(parent, fn, on_done, ...)`` runs ``fn()`` on one worker thread (the database has one
connection; a single worker keeps calls ordered) and calls ``on_done(result)`` or
``on_error(exc)`` (default: ``show_error``) on the GUI thread. A busy indicator appears only
when the work takes longer than ``progress_after_ms``. The GUI thread never queries, never
touches the network, never renders PDFs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget
from shiboken6 import isValid

_POOL: QThreadPool | None = None


def worker_pool() -> QThreadPool:
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(1)
    return _POOL


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int, str)


class _Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], signals: _Signals, with_progress: bool) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals
        self.with_progress = with_progress
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            if self.with_progress:
                result = self.fn(lambda done, total, text="": self.signals.progress.emit(done, total, text))
            else:
                result = self.fn()
        except BaseException as e:  # noqa: BLE001 - delivered to the GUI thread, shown there
            self.signals.failed.emit(e)
        else:
            self.signals.done.emit(result)


class Op(QObject):
    """One piece of background work; keep a reference until it finishes (run_op does)."""

    finished = Signal()
    _live: set[Op] = set()

    def __init__(
        self,
        parent: QWidget | None,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        label: str | None = None,
        progress_after_ms: int = 500,
        with_progress: bool = False,
    ) -> None:
        super().__init__(None)
        self.parent_widget = parent
        self.on_done = on_done
        self.on_error = on_error
        self.label = label
        self.signals = _Signals()
        self.signals.done.connect(self._done, Qt.ConnectionType.QueuedConnection)
        self.signals.failed.connect(self._failed, Qt.ConnectionType.QueuedConnection)
        self.signals.progress.connect(self._progress, Qt.ConnectionType.QueuedConnection)
        self.dialog: QProgressDialog | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._show_progress)
        self.job = _Job(fn, self.signals, with_progress)
        self._progress_after = progress_after_ms

    def start(self) -> Op:
        Op._live.add(self)
        if self.label:
            self.timer.start(self._progress_after)
        worker_pool().start(self.job)
        return self

    def _show_progress(self) -> None:
        if self.label is None:
            return
        self.dialog = QProgressDialog(self.label, "", 0, 0, self.parent_widget)
        self.dialog.setCancelButton(None)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.show()

    @Slot(int, int, str)
    def _progress(self, done: int, total: int, text: str) -> None:
        if self.dialog is not None:
            self.dialog.setMaximum(max(total, 0))
            self.dialog.setValue(done)
            if text:
                self.dialog.setLabelText(text)

    def _finish(self) -> None:
        self.timer.stop()
        if self.dialog is not None and isValid(self.dialog):
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        Op._live.discard(self)
        self.finished.emit()

    def _receiver_alive(self, callback: Callable[..., Any] | None) -> bool:
        """False when the widget that asked has been deleted meanwhile (window closed, signed
        out): its result is dropped instead of touching a dead C++ object."""
        if self.parent_widget is not None and not isValid(self.parent_widget):
            return False
        owner = getattr(callback, "__self__", None)
        return not (isinstance(owner, QObject) and not isValid(owner))

    @Slot(object)
    def _done(self, result: object) -> None:
        self._finish()
        if self.on_done is not None and self._receiver_alive(self.on_done):
            self.on_done(result)

    @Slot(object)
    def _failed(self, error: BaseException) -> None:
        self._finish()
        if not self._receiver_alive(self.on_error):
            return
        if self.on_error is not None:
            self.on_error(error)
        else:
            from .errors import show_error

            show_error(self.parent_widget, error)


def run_op(
    parent: QWidget | None,
    fn: Callable[..., Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    *,
    label: str | None = None,
    with_progress: bool = False,
) -> Op:
    return Op(parent, fn, on_done, on_error, label=label, with_progress=with_progress).start()
