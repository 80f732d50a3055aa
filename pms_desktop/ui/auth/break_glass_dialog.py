"""Emergency ("break glass") access to one patient's clinical record, with a required reason.

The grant is time-limited and every read under it is flagged in the access log; the dialog
says so before anyone confirms.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from ...domain.errors import ValidationError
from ...domain.session import StaffSession
from ..errors import mark_invalid, show_error
from ..ops import run_op


class BreakGlassDialog(QDialog):
    granted = Signal(object)  # BreakGlassInfo

    def __init__(self, ctx: Any, session: StaffSession, patient_id: str, parent: Any = None,
                 *, patient_name: str = "") -> None:
        super().__init__(parent)
        self.ctx, self.session, self.patient_id = ctx, session, patient_id
        self.grant: Any = None
        self.setObjectName("breakGlassDialog")
        self.setWindowTitle(self.tr("Emergency access"))
        self.setMinimumWidth(440)
        title = QLabel(self.tr("Open the clinical record in an emergency"))
        title.setObjectName("sectionTitle")
        who = f" ({patient_name})" if patient_name else ""
        text = QLabel(self.tr(
            "Your role does not include clinical records{who}. In an emergency you may open this "
            "patient's record for 30 minutes. Your name, the time and your reason are recorded and "
            "reviewed by the clinic.").format(who=who))
        text.setWordWrap(True)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText(self.tr("Why do you need access now? (required)"))
        self.reason.setAccessibleName(self.tr("Reason for emergency access"))
        self.reason.setFixedHeight(80)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton(self.tr("Open record"),
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setProperty("danger", True)
        self.buttons.accepted.connect(self.confirm)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 18)
        for w in (title, text, self.reason, self.error, self.buttons):
            layout.addWidget(w)

    def confirm(self) -> None:
        reason = self.reason.toPlainText().strip()
        if len(reason) < 10:
            self._mark(self.tr("Say why you need emergency access (a full sentence)."))
            return
        self.open_button.setEnabled(False)
        accounts, who, pid = self.ctx.accounts, self.session, self.patient_id
        run_op(self, lambda: accounts.break_glass(who, patient_id=pid, reason=reason), self._done,
               self._failed)

    def _mark(self, text: str) -> None:
        self.error.setText(text)
        mark_invalid(self.reason, True)

    def _done(self, grant: Any) -> None:
        self.grant = grant
        self.granted.emit(grant)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.open_button.setEnabled(True)
        if isinstance(error, ValidationError):
            self._mark(" ".join(error.field_errors.values()))
        else:
            show_error(self, error)
