"""Run work off the GUI thread and get the result (or the error) back on it.

``run_op(parent, fn, on_done, ...)`` runs ``fn()`` on one worker thread (the database has one
connection; a single worker keeps calls ordered) and calls ``on_done(result)`` or
``on_error(exc)`` (default: ``show_error``) on the GUI thread. A ``PasswordChangeRequired``
goes to the forced password change first (``errors.password_change_taken``), whatever
``on_error`` does with it. A busy indicator appears only when the work takes longer than
``progress_after_ms``. The GUI thread never queries, never touches the network, never renders
PDFs.

Work that must not queue the person's database calls behind it for long (a sync waits on the
network for most of its time) passes an ``executor`` of its own; it shares the database's one
connection with the worker at transaction granularity (the pool hands it to one thread at a time).

A widget that shows one patient after another keeps a ``Generation``: ``bump()`` when another
patient is shown, and ``guard(on_done)`` drops an answer that was asked for an earlier one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget
from shiboken6 import isValid

from .errors import password_change_taken, show_error

_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    # One worker: the database has one connection, and one worker keeps calls in order.
    # A plain Python thread (not a QRunnable): no Qt object changes hands between threads,
    # the results travel back through a queued signal of an object the GUI thread owns.
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pms-work")
    return _EXECUTOR


def wait_for_idle(timeout_s: float = 30.0) -> None:
    """Block until the work queued so far has run (shutdown, tests)."""
    if _EXECUTOR is not None:
        _EXECUTOR.submit(lambda: None).result(timeout=timeout_s)


class _Relay(QObject):
    """The one object the worker thread emits through: (operation token, kind, payload).

    It lives as long as the application; per-operation Qt objects never reach the worker, so
    none can be freed on the wrong thread or while one of its events is being delivered.
    """

    delivered = Signal(int, str, object)


_RELAY: _Relay | None = None
_PENDING: dict[int, Op] = {}
_TOKENS = itertools.count(1)


def _relay() -> _Relay:
    global _RELAY
    if _RELAY is None:
        _RELAY = _Relay()
        _RELAY.delivered.connect(_deliver, Qt.ConnectionType.QueuedConnection)
    return _RELAY


def _deliver(token: int, kind: str, payload: Any) -> None:
    op = _PENDING.get(token) if kind == "progress" else _PENDING.pop(token, None)
    if op is None:
        return
    if kind == "progress":
        op._progress(*payload)
    elif kind == "done":
        op._done(payload)
    else:
        op._failed(payload)


def _run(token: int, fn: Callable[..., Any], relay: _Relay, with_progress: bool) -> None:
    try:
        if with_progress:
            def report(done: int, total: int, text: str = "") -> None:
                relay.delivered.emit(token, "progress", (done, total, text))

            result = fn(report)
        else:
            result = fn()
    except BaseException as e:  # noqa: BLE001 - delivered to the GUI thread, shown there
        relay.delivered.emit(token, "failed", e)
    else:
        relay.delivered.emit(token, "done", result)


class Op(QObject):
    """One piece of background work; keep a reference until it finishes (run_op does)."""

    finished = Signal()

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
        on_progress: Callable[[int, int, str], None] | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(None)
        self.parent_widget = parent
        self.on_done = on_done
        self.on_error = on_error
        self.label = label
        self.dialog: QProgressDialog | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._show_progress)
        self.fn = fn
        self.with_progress = with_progress or on_progress is not None
        self.on_progress = on_progress
        self.executor = executor
        self._progress_after = progress_after_ms

    def start(self) -> Op:
        token = next(_TOKENS)
        _PENDING[token] = self
        if self.label:
            self.timer.start(self._progress_after)
        (self.executor or _executor()).submit(_run, token, self.fn, _relay(), self.with_progress)
        return self

    def _show_progress(self) -> None:
        if self.label is None:
            return
        parent = self.parent_widget
        if parent is not None and not isValid(parent):
            return
        self.dialog = QProgressDialog(self.label, "", 0, 0, parent)
        self.dialog.setCancelButton(None)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.show()

    @Slot(int, int, str)
    def _progress(self, done: int, total: int, text: str) -> None:
        if self.on_progress is not None and self._receiver_alive(self.on_progress):
            self.on_progress(done, total, text)
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
        if self.on_error is None:
            show_error(self.parent_widget, error)
            return
        # A password reset refuses the whole session, whichever screen asked, even one whose
        # own handler shows nothing: the forced change opens here, once (a handler that then
        # calls show_error shows nothing more), and the handler still resets its own state.
        password_change_taken(error)
        self.on_error(error)


class Generation:
    """Counts what a widget has shown (patients, usually). ``guard(fn)`` wraps a callback so it
    runs only if nothing else has been shown since it was made; otherwise ``stale`` runs, or
    nothing."""

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1

    def guard(self, fn: Callable[..., Any],
              stale: Callable[..., Any] | None = None) -> Callable[..., Any]:
        asked = self.value

        def answer(*args: Any) -> Any:
            if asked == self.value:
                return fn(*args)
            return stale(*args) if stale is not None else None

        return answer


def run_op(
    parent: QWidget | None,
    fn: Callable[..., Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    *,
    label: str | None = None,
    with_progress: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
    executor: Executor | None = None,
) -> Op:
    """``fn()`` off the GUI thread; with ``with_progress`` or ``on_progress`` it is called as
    ``fn(report)`` and ``report(done, total, text)`` reaches ``on_progress`` (and the busy
    dialog) on the GUI thread."""
    return Op(parent, fn, on_done, on_error, label=label, with_progress=with_progress,
              on_progress=on_progress, executor=executor).start()
