"""Staff accounts: add, change role, disable/enable, reset password, reset MFA, unlock."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import Role
from ...domain.session import StaffSession
from ..ops import run_op
from .user_edit_dialog import UserEditDialog
from .users_table_model import ROLE_NAMES, UsersTableModel


class UsersTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, status: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.status = ctx, session, status
        self.model = UsersTableModel()
        self.table = QTableView()
        self.table.setObjectName("usersTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for key, text, fn in (
            ("add", self.tr("Add…"), self.add_user),
            ("role", self.tr("Change role…"), self.change_role),
            ("disable", self.tr("Disable"), self.toggle_active),
            ("password", self.tr("Reset password…"), self.reset_password),
            ("mfa", self.tr("Reset two-step"), self.reset_mfa),
            ("unlock", self.tr("Unlock"), self.unlock),
        ):
            button = QPushButton(text)
            button.clicked.connect(fn)
            self.buttons[key] = button
            bar.addWidget(button)
        bar.addStretch(1)
        self.buttons["add"].setProperty("primary", True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.model.modelReset.connect(self._update_buttons)
        self._update_buttons()
        self.reload()

    def _update_buttons(self) -> None:
        """What acts on an account is offered once one is chosen, and only where it can apply:
        Disable or Enable as the account stands, Unlock for a locked account."""
        user = self.selected()
        for key in ("role", "disable", "password", "mfa", "unlock"):
            self.buttons[key].setEnabled(user is not None)
        active = user is None or user.active
        self.buttons["disable"].setText(self.tr("Disable") if active else self.tr("Enable"))
        if user is not None:
            self.buttons["mfa"].setEnabled(bool(user.totp_enabled))
            self.buttons["unlock"].setEnabled(bool(user.locked_until))

    def reload(self) -> None:
        accounts, who = self.ctx.accounts, self.session
        run_op(self, lambda: accounts.list_users(who), self.model.set_rows)

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.model.user_at(rows[0].row()) if rows else None

    def _run(self, fn: Any, message: str) -> None:
        def done(_r: Any) -> None:
            self.reload()
            if self.status is not None:
                self.status(message)
        run_op(self, fn, done)

    def add_user(self) -> None:
        dialog = UserEditDialog(self.ctx, self.session, self)
        dialog.accepted.connect(self.reload)
        dialog.open()

    def change_role(self) -> None:
        user = self.selected()
        if user is None:
            return
        names = [self.tr(ROLE_NAMES[r.value]) for r in Role]
        label = self.tr("Role of {name}:").format(name=user.display_name)
        name, ok = QInputDialog.getItem(self, self.tr("Change role"), label, names,
                                        list(Role).index(user.role), False)
        if ok:
            role = list(Role)[names.index(name)]
            a, who = self.ctx.accounts, self.session
            self._run(lambda: a.set_role(who, user_id=user.id, role=role), self.tr("Role changed."))

    def toggle_active(self) -> None:
        user = self.selected()
        if user is None:
            return
        a, who = self.ctx.accounts, self.session
        if user.active:
            self._run(lambda: a.disable(who, user_id=user.id), self.tr("Account disabled."))
        else:
            self._run(lambda: a.enable(who, user_id=user.id), self.tr("Account enabled."))

    def reset_password(self) -> None:
        user = self.selected()
        if user is None:
            return
        password, ok = QInputDialog.getText(self, self.tr("Reset password"), self.tr(
            "New password for {name} (they choose their own at next sign-in):"
        ).format(name=user.display_name), QLineEdit.EchoMode.Password)
        if ok and password:
            a, who = self.ctx.accounts, self.session
            self._run(lambda: a.reset_password(who, user_id=user.id, new_password=password),
                      self.tr("Password reset."))

    def reset_mfa(self) -> None:
        user = self.selected()
        if user is not None:
            a, who = self.ctx.accounts, self.session
            self._run(lambda: a.reset_mfa(who, user_id=user.id),
                      self.tr("Two-step sign-in reset: they set it up again at next sign-in."))

    def unlock(self) -> None:
        user = self.selected()
        if user is not None:
            a, who = self.ctx.accounts, self.session
            self._run(lambda: a.unlock_user(who, user_id=user.id), self.tr("Account unlocked."))
