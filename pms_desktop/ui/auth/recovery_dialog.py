"""Opening the clinic with its printed recovery secret, when the keyring has no key for it
(a new computer account, a restored disk) or no keyring works on this computer at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout

from ...domain.errors import UserError
from ...services.accounts_startup import open_database_with_recovery_secret
from ..errors import message_for
from ..ops import run_op


class RecoveryDialog(QDialog):
    def __init__(self, data_dir: Path, parent: Any = None, *,
                 keyring_missing: bool = False) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.db: Any = None
        self.setObjectName("recoveryDialog")
        self.setWindowTitle(self.tr("Open the clinic with its recovery secret"))
        self.setMinimumWidth(520)
        title = QLabel(self.tr("Recovery secret needed"))
        title.setObjectName("screenTitle")
        if keyring_missing:
            why = self.tr("This computer has no working secure key store (OS keyring), so the "
                          "database key cannot be kept here. Each time the application starts, the "
                          "clinic's recovery secret is needed to open the data.")
        else:
            why = self.tr("The key of this clinic's database is not in this computer's keyring "
                          "(a new user account, or a restored disk). Enter the recovery secret "
                          "printed when the clinic was set up; the key is then stored again.")
        text = QLabel(why)
        text.setWordWrap(True)
        text.setObjectName("keyringMessage")
        self.secret = QLineEdit()
        self.secret.setPlaceholderText("XXXXXX-XXXXXX-XXXXXX-…")
        self.secret.setAccessibleName(self.tr("Recovery secret"))
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton(self.tr("Open"),
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setProperty("primary", True)
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 18, 22, 18)
        for w in (title, text, self.secret, self.error, self.buttons):
            layout.addWidget(w)

    def attempt(self) -> None:
        secret, folder = self.secret.text().strip(), self.data_dir
        if not secret:
            self.error.setText(self.tr("Enter the recovery secret."))
            return
        self.open_button.setEnabled(False)
        self.error.setText(self.tr("Checking… (this takes a few seconds)"))
        run_op(self, lambda: open_database_with_recovery_secret(folder, secret), self._done,
               self._failed)

    def _done(self, db: Any) -> None:
        self.db = db
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.open_button.setEnabled(True)
        self.error.setText(str(error) if isinstance(error, UserError)
                           else (message_for(error) or ""))
