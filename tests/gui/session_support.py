"""Ending a ``SessionController`` a GUI test made, so that nothing it opened outlives the test.

A window the controller opened and the test only closed stayed alive for good: its signal
connections hold lambdas that refer to the window and to the controller (``lock_requested`` to
``controller.lock``, the main window's shortcuts to itself), a cycle through C++ that Python's
garbage collector cannot see. test_auth_password.py and test_auth.py together left six main
windows, six controllers and about 1,060 widgets alive until interpreter exit, destroyed (if at
all) after the ``QApplication``. ``dispose`` deletes them while the application still runs, as
the application itself does when a session ends (``SessionController._end_session``): none is
left. (Not what crashed those two modules at exit: that was PySide6 6.12.0's ``emit``, see
test_qt_binding_refcounts.py.)
"""

from __future__ import annotations

from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

W = TypeVar("W", bound=QWidget)


def dispose(controller: Any) -> None:
    """Stop ``controller``'s idle timer, close and delete every window and dialog it holds (the
    main window, lock screen, forced password change, MFA enrolment, sign-in), and carry the
    deletions out now."""
    controller.idle.stop()
    windows = [controller.main_window, controller.lock_screen, controller.password_dialog,
               controller.mfa_dialog, controller.sign_in_dialog]
    controller.main_window = controller.lock_screen = controller.password_dialog = None
    controller.mfa_dialog = controller.sign_in_dialog = None
    for window in windows:
        if window is not None and shiboken6.isValid(window):
            window.close()
            window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


class NewWidgets:
    """Tells the widgets a test made from those earlier tests in this process left behind. The
    earlier ones are held, not only their ids: the id of a wrapper freed since could be reused
    by a widget the test makes (a new ChangePasswordDialog, say), which would then be
    overlooked and waited for in vain. ``release`` at the end of the test."""

    def __init__(self, app: QApplication) -> None:
        self._before: list[QWidget] = app.allWidgets()
        self._ids = {id(w) for w in self._before}

    def shown(self, cls: type[W]) -> list[W]:
        return [w for w in QApplication.allWidgets()
                if isinstance(w, cls) and w.isVisible() and id(w) not in self._ids]

    def error_boxes(self) -> list[QMessageBox]:
        return [w for w in self.shown(QMessageBox) if w.objectName() == "errorBox"]

    def release(self) -> None:
        self._before, self._ids = [], set()
