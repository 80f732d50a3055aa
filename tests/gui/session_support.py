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

from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent


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
