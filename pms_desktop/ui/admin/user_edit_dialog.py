"""Adding a staff account: name, user name, role, a first password (changed at first sign-in).

The Save/Cancel row, the call off the GUI thread and a refused field's marking come from
``SaveDialog``; what was typed stays when the service refuses it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QWidget

from ...domain.enums import Role
from ...domain.session import StaffSession
from ..save_dialog import SaveDialog
from .users_table_model import ROLE_NAMES


class UserEditDialog(SaveDialog):
    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.setObjectName("userEditDialog")
        self.setWindowTitle(self.tr("Add a staff member"))
        self.setMinimumWidth(420)
        self.display_name = QLineEdit()
        self.username = QLineEdit()
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(self.tr(ROLE_NAMES[role.value]), role.value)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.fields: dict[str, QLineEdit | QComboBox] = {
            "display_name": self.display_name, "username": self.username, "role": self.role,
            "password": self.password}
        form = QFormLayout(self)
        form.addRow(self.tr("Full &name"), self.display_name)
        form.addRow(self.tr("&User name"), self.username)
        form.addRow(self.tr("&Role"), self.role)
        form.addRow(self.tr("First &password"), self.password)
        form.addRow("", self.error)
        self.add_buttons(form)

    def save(self) -> None:
        accounts, who = self.ctx.accounts, self.session
        values = dict(username=self.username.text(), display_name=self.display_name.text(),
                      role=self.role.currentData(), password=self.password.text())
        self.submit(lambda: accounts.create_user(who, **values))

    def error_fields(self) -> dict[str, QLineEdit | QComboBox]:
        return self.fields
