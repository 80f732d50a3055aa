"""Security settings: lockout and idle lock, and rotating the database key (off the GUI thread)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets.button_row import button_row


class SecurityTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, status: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.status = ctx, session, status
        policy = ctx.accounts.policy()
        self.max_failures = QSpinBox(minimum=3, maximum=20, value=policy.max_failures)
        self.lock_minutes = QSpinBox(minimum=1, maximum=1440, value=policy.lock_minutes,
                                     suffix=" min")
        self.idle_minutes = QSpinBox(minimum=1, maximum=60, value=policy.idle_minutes,
                                     suffix=" min")
        save = QPushButton(self.tr("Save"))
        save.clicked.connect(self.save_policy)
        sign_in = QGroupBox(self.tr("Sign-in and idle lock"))
        form = QFormLayout(sign_in)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(self.tr("Lock an account after"), self.max_failures)
        form.addRow(self.tr("Locked for"), self.lock_minutes)
        form.addRow(self.tr("Lock the workstation when idle for"), self.idle_minutes)
        form.addRow("", button_row(save))
        key = QGroupBox(self.tr("Database key"))
        kv = QVBoxLayout(key)
        text = QLabel(self.tr("Re-encrypts the clinic's database under a new random key. The "
                              "recovery secret stays valid. It takes a moment; the workstation "
                              "stays usable."))
        text.setWordWrap(True)
        self.rotate_button = QPushButton(self.tr("Rotate database key…"))
        self.rotate_button.setEnabled(hasattr(ctx, "backups")
                                      or "backups" in getattr(ctx, "services", {}))
        self.rotate_button.clicked.connect(self.confirm_rotate)
        kv.addWidget(text)
        kv.addWidget(button_row(self.rotate_button))
        layout = QVBoxLayout(self)
        layout.addWidget(sign_in)
        layout.addWidget(key)
        layout.addStretch(1)

    def save_policy(self) -> None:
        a, who = self.ctx.accounts, self.session
        values = dict(max_failures=self.max_failures.value(),
                      lock_minutes=self.lock_minutes.value(),
                      idle_minutes=self.idle_minutes.value())
        run_op(self, lambda: a.set_policy(who, **values),
               lambda _p: self._status(self.tr("Security settings saved.")))

    def confirm_rotate(self) -> None:
        answer = QMessageBox.question(self, self.tr("Rotate the database key"),
                                      self.tr("Re-encrypt the database under a new key now?"))
        if answer == QMessageBox.StandardButton.Yes:
            self.rotate()

    def rotate(self) -> None:
        backups, who = self.ctx.backups, self.session
        self.rotate_button.setEnabled(False)

        def done(_r: Any) -> None:
            self.rotate_button.setEnabled(True)
            self._status(self.tr("The database key was rotated."))

        def failed(error: BaseException) -> None:
            self.rotate_button.setEnabled(True)
            from ..errors import show_error
            show_error(self, error)

        run_op(self, lambda: backups.rotate_key(who), done, failed,
               label=self.tr("Rotating the database key…"))

    def _status(self, text: str) -> None:
        if self.status is not None:
            self.status(text)
