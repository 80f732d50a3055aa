"""ChangePasswordDialog: the signed-in person chooses a new password (current, new, repeat).

Shown from the account menu, and before the main window when the account must change its
password (a new account, or after an admin reset): then it cannot be skipped, and cancelling
signs out. A refusal is said under the field it concerns; what was typed stays. The check
(argon2, deliberately slow) runs off the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import AccountLocked, ValidationError
from ...domain.session import StaffSession
from ..errors import mark_invalid, show_error
from ..ops import run_op

MIN_LENGTH = 12  # security.passwords.MIN_LENGTH; the service's check is the law


class ChangePasswordDialog(QDialog):
    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget | None = None, *,
                 forced: bool = False) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.forced = ctx, session, forced
        self.locked_out = False
        self.setObjectName("changePasswordDialog")
        self.setWindowTitle(self.tr("Change your password"))
        self.setMinimumWidth(500)
        title = QLabel(self.tr("Choose your own password") if forced
                       else self.tr("Change your password"))
        title.setObjectName("screenTitle")
        intro = QLabel(self.tr(
            "Your password was set by an administrator. Choose your own before you continue.")
            if forced else self.tr("Type your current password, then the new one twice."))
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.current, self.new, self.repeat = QLineEdit(), QLineEdit(), QLineEdit()
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, edit, label, name in (
            ("current", self.current, self.tr("C&urrent password"), self.tr("Current password")),
            ("new", self.new, self.tr("&New password"), self.tr("New password")),
            ("repeat", self.repeat, self.tr("&Repeat new password"),
             self.tr("Repeat new password")),
        ):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(name)
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            self.errors[key] = error
            form.addRow(label, edit)
            form.addRow("", error)
        hint = QLabel(self.tr("At least {n} characters, with no part of your name or user name, "
                              "and not a password known to attackers. A short sentence is easy "
                              "to remember.").format(n=MIN_LENGTH))
        hint.setWordWrap(True)
        hint.setObjectName("muted")
        self.buttons = QDialogButtonBox()
        self.change_button = self.buttons.addButton(self.tr("Change password"),
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.change_button.setProperty("primary", True)
        self.change_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(
            self.tr("Sign out") if forced else self.tr("Cancel"),
            QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self.current.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, label in self.errors.items():
            text = errors.get(key, "")
            label.setText(text)
            label.setVisible(bool(text))
        for key, edit in (("current", self.current), ("new", self.new), ("repeat", self.repeat)):
            mark_invalid(edit, key in errors)

    def attempt(self) -> None:
        current, new, repeat = self.current.text(), self.new.text(), self.repeat.text()
        errors = {}
        if not current:
            errors["current"] = self.tr("Type your current password.")
        if not new:
            errors["new"] = self.tr("Type a new password.")
        elif repeat != new:
            errors["repeat"] = self.tr("Not the same as the new password.")
        self.show_errors(errors)
        if errors:
            return
        self.change_button.setEnabled(False)
        accounts, who = self.ctx.accounts, self.session
        run_op(self, lambda: accounts.change_password(who, current=current, new=new),
               self._done, self._failed, label=self.tr("Changing the password…"))

    def _done(self, _result: Any) -> None:
        self.current.clear()
        self.new.clear()
        self.repeat.clear()
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.change_button.setEnabled(True)
        if isinstance(error, ValidationError):
            self.show_errors(error.field_errors)
            (self.current if "current" in error.field_errors else self.new).setFocus()
            return
        show_error(self.parentWidget(), error)
        if isinstance(error, AccountLocked):
            self.locked_out = True  # signed out: the person proves who they are again
            self.reject()
