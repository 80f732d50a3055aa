"""Adding a staff account: name, user name, role, a first password (changed at first sign-in)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ...domain.enums import Role
from ...domain.errors import ValidationError
from ...domain.session import StaffSession
from ..errors import show_error, show_field_errors
from ..ops import run_op
from .users_table_model import ROLE_NAMES


class UserEditDialog(QDialog):
    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.created: Any = None
        self.setObjectName("userEditDialog")
        self.setWindowTitle(self.tr("Add a staff member"))
        self.setMinimumWidth(420)
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.display_name = QLineEdit()
        self.username = QLineEdit()
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(self.tr(ROLE_NAMES[role.value]), role.value)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.fields = {"display_name": self.display_name, "username": self.username, "role": self.role,
                       "password": self.password}
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("Full &name"), self.display_name)
        form.addRow(self.tr("&User name"), self.username)
        form.addRow(self.tr("&Role"), self.role)
        form.addRow(self.tr("First &password"), self.password)
        form.addRow("", self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def save(self) -> None:
        accounts, who = self.ctx.accounts, self.session
        values = dict(username=self.username.text(), display_name=self.display_name.text(),
                      role=self.role.currentData(), password=self.password.text())
        run_op(self, lambda: accounts.create_user(who, **values), self._done, self._failed)

    def _done(self, info: Any) -> None:
        self.created = info
        self.accept()

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, ValidationError):
            show_error(self, error)
            return
        show_field_errors(self.fields, error.field_errors, self.error)
