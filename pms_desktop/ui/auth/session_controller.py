"""The session life cycle of a running workstation: sign-in, MFA on first use, a password of
one's own when an admin set it (new account, reset), the main window, idle lock and unlock,
switch user, sign out.

An admin may reset the password of someone already signed in: from then on the services refuse
that session with ``PasswordChangeRequired``, naming it. ``ui.errors.show_error`` hands the first
such refusal here (``require_password_change``): the screens are hidden behind the forced change
once, further refusals stay silent while it is open, a changed password lets the screens load
again, and cancelling signs out as at sign-in. A refusal naming another session than the one
signed in now (an earlier session's work answering late, after a switch of user) is dropped.

Holds the one ``AppContext`` for the open clinic. The main window is reception's
``MainWindow(ctx, session)``; while it does not exist yet a plain window stands in. Locking
first hides every patient datum (``set_locked(True)``), then shows the lock screen over it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance
from PySide6.QtWidgets import QLabel, QMainWindow, QToolBar

from ...domain.session import StaffSession
from ..errors import on_password_change_required
from ..ops import run_op
from .change_password_dialog import ChangePasswordDialog
from .idle_monitor import IdleMonitor
from .lock_screen import LockScreen
from .mfa_enrolment_dialog import MfaEnrolmentDialog
from .sign_in_dialog import SignInDialog


class SessionWindow(Protocol):
    """What the controller uses of a main window (``MainWindow`` or ``PlainMainWindow``)."""

    sign_out_requested: SignalInstance
    lock_requested: SignalInstance
    switch_user_requested: SignalInstance

    def set_locked(self, locked: bool) -> None: ...

    def show(self) -> None: ...


class PlainMainWindow(QMainWindow):
    """Stands in for MainWindow until reception's exists: the session's actions, no data."""

    sign_out_requested = Signal()
    lock_requested = Signal()
    switch_user_requested = Signal()

    def __init__(self, ctx: Any, session: StaffSession) -> None:
        super().__init__()
        self.setWindowTitle(self.tr("Clinic"))
        self.locked = False
        bar = QToolBar()
        bar.addAction(self.tr("Lock"), self.lock_requested.emit)
        bar.addAction(self.tr("Switch user"), self.switch_user_requested.emit)
        bar.addAction(self.tr("Sign out"), self.sign_out_requested.emit)
        self.addToolBar(bar)
        self.setCentralWidget(
            QLabel(self.tr("Signed in as {name}.").format(name=session.display_name)))

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        central = self.centralWidget()
        assert central is not None  # set in __init__
        central.setVisible(not locked)

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)


def main_window_class() -> Callable[[Any, StaffSession], SessionWindow]:
    try:
        module = importlib.import_module("pms_desktop.ui.main_window")
    except ModuleNotFoundError as e:
        if e.name != "pms_desktop.ui.main_window":
            raise
        return PlainMainWindow
    return getattr(module, "MainWindow", PlainMainWindow)


class SessionController(QObject):
    signed_in = Signal(object)
    signed_out = Signal()
    locked = Signal()
    quit_requested = Signal()

    def __init__(self, ctx: Any, *, idle_ms: int | None = None,
                 clock: Callable[[], datetime] | None = None,
                 clinic_name: str = "", timezone: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.clock = clock or (lambda: datetime.now(UTC))
        self.policy = ctx.accounts.policy()
        self.clinic_name, self.timezone = clinic_name, timezone
        self.session: StaffSession | None = None
        self.main_window: Any = None
        self.sign_in_dialog: SignInDialog | None = None
        self.lock_screen: LockScreen | None = None
        self.mfa_dialog: MfaEnrolmentDialog | None = None
        self.password_dialog: ChangePasswordDialog | None = None
        self.account: Any = None
        self.password_change_pending = False  # refused while locked: asked for after unlock
        self.idle = IdleMonitor(
            idle_ms if idle_ms is not None else self.policy.idle_minutes * 60_000, self)
        self.idle.idle.connect(self.lock)
        on_password_change_required(self.require_password_change)

    # --- sign-in -------------------------------------------------------------------------------

    def show_sign_in(self, username: str = "") -> SignInDialog:
        dialog = SignInDialog(self.ctx, clinic_name=self.clinic_name, timezone=self.timezone,
                              username=username)
        dialog.signed_in.connect(self.start_session)
        dialog.rejected.connect(self._sign_in_cancelled)
        self.sign_in_dialog = dialog
        dialog.show()
        return dialog

    def _sign_in_cancelled(self) -> None:
        if self.session is None:
            self.quit_requested.emit()

    def start_session(self, session: StaffSession) -> None:
        self.session = session
        accounts = self.ctx.accounts
        run_op(None, lambda: accounts.my_account(session), self._account_loaded)

    def _account_loaded(self, info: Any) -> None:
        if self.session is None or info.id != self.session.user_id:
            return  # signed out meanwhile
        self.account = info
        if self.ctx.accounts.needs_mfa_enrolment(info):
            self.mfa_dialog = MfaEnrolmentDialog(self.ctx, self.session)
            self.mfa_dialog.accepted.connect(self._after_mfa)
            self.mfa_dialog.rejected.connect(self.sign_out)
            self.mfa_dialog.show()
            return
        self._after_mfa()

    def _after_mfa(self) -> None:
        """Before the main window: a password of one's own, when an admin set this one. It
        cannot be skipped; cancelling (or closing the dialog) signs out."""
        assert self.session is not None
        if self.account is not None and self.account.must_change_password:
            dialog = ChangePasswordDialog(self.ctx, self.session, forced=True)
            dialog.accepted.connect(self._open_main_window)
            dialog.rejected.connect(self.sign_out)
            self.password_dialog = dialog
            dialog.show()
            return
        self._open_main_window()

    # --- a password reset while signed in ---------------------------------------------------

    def require_password_change(self, session_id: str | None) -> bool:
        """A service refused session ``session_id`` because an admin reset its password. Opens
        the forced change once (later refusals are swallowed while it is open); True when handled
        here. Another session's refusal (signed out or switched since) is dropped: the change is
        that person's, not whoever sits here now."""
        current = self.session.session_id if self.session is not None else None
        if session_id is not None and session_id != current:
            return True  # dropped: nothing to show the person here now
        if self.session is None:
            return False
        if self.password_dialog is not None:
            return True  # already asked (at sign-in, or by an earlier refusal)
        if self.main_window is None:
            return False  # mid sign-in: the sign-in flow asks for the password itself
        if self.lock_screen is not None:
            self.password_change_pending = True  # the lock screen stays on top; asked after unlock
            return True
        self.password_change_pending = False
        self.idle.stop()
        self.main_window.set_locked(True)  # nothing works until it is changed; show nothing
        dialog = ChangePasswordDialog(self.ctx, self.session, self.main_window, forced=True)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.accepted.connect(self._password_changed)
        dialog.rejected.connect(self.sign_out)
        self.password_dialog = dialog
        dialog.show()
        return True

    def _password_changed(self) -> None:
        dialog, self.password_dialog = self.password_dialog, None
        if dialog is not None:
            dialog.deleteLater()
        window = self.main_window
        if window is None:
            return
        window.set_locked(False)
        self.idle.start()
        # What was refused meanwhile is asked again.
        for screen in getattr(window, "screens", {}).values():
            load = getattr(screen, "refresh", None) or getattr(screen, "reload", None)
            if callable(load):
                load()
        if hasattr(window, "refresh_patient"):
            window.refresh_patient()
        if hasattr(window, "show_status"):
            window.show_status(self.tr("Your password was changed."))

    def _open_main_window(self) -> None:
        assert self.session is not None
        self.password_dialog = None
        window = main_window_class()(self.ctx, self.session)
        window.sign_out_requested.connect(self.sign_out)
        window.lock_requested.connect(lambda: self.lock("request"))
        window.switch_user_requested.connect(self.switch_user)
        self.main_window = window
        window.show()
        self.idle.start()
        self.signed_in.emit(self.session)

    # --- lock ----------------------------------------------------------------------------------

    def lock(self, reason: str = "idle") -> None:
        if self.session is None or self.main_window is None or self.lock_screen is not None:
            return
        if self.password_dialog is not None:
            return  # the forced change already hides everything and asks for the password
        self.idle.stop()
        self.main_window.set_locked(True)
        accounts, who = self.ctx.accounts, self.session
        run_op(None, lambda: accounts.record_lock(who, reason=reason), None, lambda e: None)
        screen = LockScreen(self.ctx, self.session, self.main_window,
                            code_after=timedelta(minutes=self.policy.unlock_code_after_minutes),
                            timezone=self.timezone, clock=self.clock)
        screen.unlocked.connect(self._unlocked)
        screen.switch_user_requested.connect(self.switch_user)
        screen.sign_out_requested.connect(self.sign_out)
        self.lock_screen = screen
        screen.open()
        self.locked.emit()

    def _unlocked(self) -> None:
        self._drop_lock_screen()
        if self.password_change_pending and self.session is not None \
                and self.require_password_change(self.session.session_id):
            return
        if self.main_window is not None:
            self.main_window.set_locked(False)
        self.idle.start()

    def _drop_lock_screen(self) -> None:
        if self.lock_screen is not None:
            screen, self.lock_screen = self.lock_screen, None
            screen.done(1)
            screen.deleteLater()

    # --- ending the session --------------------------------------------------------------------

    # The sign-in dialog opens before the main window closes, so the application never has
    # "no window left" (which would quit it).
    def sign_out(self) -> None:
        username = self.session.username if self.session else ""
        self.show_sign_in(username)
        self._end_session()

    def switch_user(self) -> None:
        self.show_sign_in()
        self._end_session()

    def _end_session(self) -> None:
        self.idle.stop()
        self._drop_lock_screen()
        session, self.session, self.account = self.session, None, None
        self.password_change_pending = False
        if self.password_dialog is not None:
            dialog, self.password_dialog = self.password_dialog, None
            dialog.hide()
            dialog.deleteLater()
        if session is not None:
            accounts = self.ctx.accounts
            run_op(None, lambda: accounts.sign_out(session), None, lambda e: None)
        if self.main_window is not None:
            window, self.main_window = self.main_window, None
            window.set_locked(True)
            window.close()
            # Deleted now: no patient data lingers in a hidden window. Background work it
            # started is dropped by ui.ops when it reports back to a deleted widget.
            window.deleteLater()
        self.signed_out.emit()
