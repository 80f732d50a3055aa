"""The lock screen: shown over a locked workstation; no patient data, only who is signed in.

Unlocking needs the password, and the authenticator code as well once the workstation has
been locked for longer than the policy says (an hour by default). "Switch user" and "Sign out"
end the session instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from ...domain.errors import AccountLocked, UserError
from ...domain.session import StaffSession
from ..errors import message_for
from ..ops import run_op
from .sign_in_dialog import local_time


def _now() -> datetime:
    return datetime.now(UTC)


class LockScreen(QDialog):
    unlocked = Signal()
    switch_user_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, ctx: Any, session: StaffSession, parent: Any = None, *,
                 code_after: timedelta = timedelta(hours=1), timezone: str | None = None,
                 clock: Callable[[], datetime] = _now) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.code_after, self.timezone, self.clock = (
            ctx, session, code_after, timezone, clock)
        self.locked_at = clock()
        self.setObjectName("lockScreen")
        self.setWindowTitle(self.tr("Workstation locked"))
        self.setModal(True)
        self.setMinimumWidth(400)
        title = QLabel(self.tr("Locked"))
        title.setObjectName("screenTitle")
        who = QLabel(self.tr(
            "Signed in as {name} ({user}). Enter your password to continue."
        ).format(name=session.display_name, user=session.username))
        who.setWordWrap(True)
        who.setObjectName("muted")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Password"))
        self.code = QLineEdit()
        self.code.setAccessibleName(self.tr("Authenticator code"))
        self.code.setPlaceholderText(self.tr("6-digit code"))
        self.code_label = QLabel(self.tr("&Code"))
        self.code_label.setBuddy(self.code)
        self.message = QLabel()
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("&Password"), self.password)
        form.addRow(self.code_label, self.code)
        self.unlock_button = QPushButton(self.tr("Unlock"))
        self.unlock_button.setProperty("primary", True)
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.attempt)
        self.switch_button = QPushButton(self.tr("Switch user"))
        self.switch_button.clicked.connect(self.switch_user_requested)
        self.sign_out_button = QPushButton(self.tr("Sign out"))
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.switch_button)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(who)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._refresh_code_field()
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)

    def needs_code(self) -> bool:
        return self.clock() - self.locked_at > self.code_after

    def _refresh_code_field(self) -> None:
        need = self.needs_code()
        self.code.setVisible(need)
        self.code_label.setVisible(need)

    def attempt(self) -> None:
        self._refresh_code_field()
        password, need = self.password.text(), self.needs_code()
        code = self.code.text().strip() if need else None
        if not password:
            self.message.setText(self.tr("Enter your password."))
            return
        if need and not code:
            self.message.setText(
                self.tr("You have been away a while: enter your authenticator code too."))
            self.code.setFocus()
            return
        self.unlock_button.setEnabled(False)
        accounts, who = self.ctx.accounts, self.session
        run_op(self, lambda: accounts.verify_unlock(who, password=password, totp_code=code),
               self._done, self._failed)

    def _done(self, _result: object) -> None:
        self.password.clear()
        self.code.clear()
        self.unlocked.emit()
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.unlock_button.setEnabled(True)
        self.password.clear()
        self.code.clear()
        if isinstance(error, AccountLocked):
            text = self.tr("Too many failed attempts: locked until {time}. Sign out, or ask a "
                           "clinic admin.").format(time=local_time(error.until, self.timezone))
        elif isinstance(error, UserError):
            text = self.tr("That did not match. Try again.") if not str(error) else str(error)
        else:
            text = message_for(error) or ""
        self.message.setText(text)
        self.password.setFocus()

    # The lock cannot be dismissed except by unlocking, switching user or signing out.
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.result() != QDialog.DialogCode.Accepted:
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:
        return
