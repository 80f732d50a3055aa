"""The sign-in dialog: user name, password, authenticator code; clear messages, lockout time.

The check (argon2, deliberately slow) runs off the GUI thread. No patient data is shown
anywhere before ``signed_in`` fires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from ...domain.errors import AccountLocked, UserError
from ...domain.session import StaffSession
from ..errors import message_for
from ..ops import run_op


def local_time(at: datetime, timezone: str | None) -> str:
    try:
        zone = ZoneInfo(timezone or "UTC")
    except Exception:  # noqa: BLE001 - an unknown zone name: show UTC
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%H:%M")


class SignInDialog(QDialog):
    signed_in = Signal(object)  # StaffSession

    def __init__(self, ctx: Any, parent: Any = None, *, clinic_name: str = "",
                 timezone: str | None = None, username: str = "") -> None:
        super().__init__(parent)
        self.ctx, self.timezone = ctx, timezone
        self.session: StaffSession | None = None
        self.setObjectName("signInDialog")
        self.setWindowTitle(self.tr("Sign in"))
        self.setMinimumWidth(380)
        title = QLabel(clinic_name or self.tr("Clinic"))
        title.setObjectName("screenTitle")
        sub = QLabel(self.tr("Sign in to continue."))
        sub.setObjectName("muted")
        self.username = QLineEdit(username)
        self.username.setAccessibleName(self.tr("User name"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Password"))
        self.code = QLineEdit()
        self.code.setPlaceholderText(self.tr("6-digit code, or a recovery code"))
        self.code.setAccessibleName(self.tr("Authenticator code"))
        self.code.setMaxLength(12)
        self.message = QLabel()
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.message.setAccessibleName(self.tr("Sign-in message"))
        form = QFormLayout()
        form.addRow(self.tr("&User name"), self.username)
        form.addRow(self.tr("&Password"), self.password)
        form.addRow(self.tr("&Code"), self.code)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.addButton(self.tr("Sign in"),
                                                     QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setProperty("primary", True)
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(sub)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        (self.password if username else self.username).setFocus(Qt.FocusReason.OtherFocusReason)

    def attempt(self) -> None:
        user, password = self.username.text().strip(), self.password.text()
        code = self.code.text().strip()
        if not user or not password:
            self.show_message(self.tr("Enter your user name and password."))
            return
        self.sign_in_button.setEnabled(False)
        self.message.setText(self.tr("Checking…"))
        accounts = self.ctx.accounts
        run_op(self, lambda: accounts.sign_in(username=user, password=password, totp_code=code),
               self._done, self._failed)

    def _done(self, session: StaffSession) -> None:
        self.session = session
        self.password.clear()
        self.signed_in.emit(session)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.sign_in_button.setEnabled(True)
        self.password.clear()
        self.code.clear()
        if isinstance(error, AccountLocked):
            text = self.tr("Too many failed attempts: this account is locked until {time}. "
                           "Ask a clinic admin if you need it sooner.").format(
                time=local_time(error.until, self.timezone))
        elif isinstance(error, UserError):
            text = str(error)
        else:
            text = message_for(error) or ""
        self.show_message(text)
        self.password.setFocus()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
