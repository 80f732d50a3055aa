"""Two-step sign-in enrolment: scan a QR code (or type the secret), confirm one code, keep the
one-time recovery codes. MFA is switched on only once a code has been confirmed.

``MfaEnrolmentPanel`` is the content (the first-run wizard embeds it); ``MfaEnrolmentDialog``
shows it on its own (first sign-in of a new account, or after an admin reset).
"""

from __future__ import annotations

import io
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ValidationError
from ...domain.session import StaffSession
from ..errors import show_error
from ..ops import run_op


def qr_pixmap(text: str, size: int = 200) -> QPixmap:
    import qrcode  # here, not at start-up: the sign-in window's module imports this one

    image = qrcode.make(text, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.FastTransformation)


def grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


class MfaEnrolmentPanel(QWidget):
    enrolled = Signal(object)  # RecoveryCodes
    finished = Signal()

    def __init__(self, ctx: Any, session: StaffSession | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.enrolment: Any = None
        self.codes: Any = None
        self.setObjectName("mfaEnrolment")
        self.stack = QStackedWidget()
        self.stack.addWidget(self._scan_page())
        self.stack.addWidget(self._codes_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def _scan_page(self) -> QWidget:
        page = QWidget()
        intro = QLabel(self.tr("Scan this code with an authenticator app (for example Microsoft or "
                               "Google Authenticator, or FreeOTP), then type the 6-digit code it "
                               "shows."))
        intro.setWordWrap(True)
        self.qr = QLabel(self.tr("Preparing…"))
        self.qr.setObjectName("qrCode")
        self.qr.setFixedSize(210, 210)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setAccessibleName(self.tr("QR code for the authenticator app"))
        self.secret = QLabel()
        self.secret.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFont("Monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        mono.setPointSizeF(11)
        self.secret.setFont(mono)
        self.secret.setAccessibleName(self.tr("Secret key as text"))
        side = QVBoxLayout()
        side.addWidget(QLabel(self.tr("Cannot scan? Enter this key in the app:")))
        side.addWidget(self.secret)
        side.addSpacing(12)
        side.addWidget(QLabel(self.tr("Code from the app:")))
        self.code = QLineEdit()
        self.code.setMaxLength(7)
        self.code.setPlaceholderText("123456")
        self.code.setAccessibleName(self.tr("Code from the authenticator app"))
        self.code.returnPressed.connect(self.confirm)
        side.addWidget(self.code)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        side.addWidget(self.error)
        self.confirm_button = QPushButton(self.tr("Turn on two-step sign-in"))
        self.confirm_button.setProperty("primary", True)
        self.confirm_button.clicked.connect(self.confirm)
        side.addWidget(self.confirm_button)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.qr)
        row.addSpacing(16)
        row.addLayout(side, 1)
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addLayout(row)
        return page

    def _codes_page(self) -> QWidget:
        page = QWidget()
        intro = QLabel(self.tr("Two-step sign-in is on. If you lose your phone, each of these "
                               "recovery codes signs you in once. Print them or write them down "
                               "and keep them somewhere safe: they are not shown again."))
        intro.setWordWrap(True)
        self.codes_text = QPlainTextEdit()
        self.codes_text.setReadOnly(True)
        self.codes_text.setObjectName("recoveryCodes")
        self.codes_text.setAccessibleName(self.tr("Recovery codes"))
        mono = QFont("Monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        mono.setPointSizeF(11)
        self.codes_text.setFont(mono)
        self.codes_text.setFixedHeight(130)
        self.stored = QCheckBox(self.tr("I have stored my recovery codes"))
        self.done_button = QPushButton(self.tr("Done"))
        self.done_button.setProperty("primary", True)
        self.done_button.setEnabled(False)
        self.stored.toggled.connect(self.done_button.setEnabled)
        self.done_button.clicked.connect(self.finished)
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addWidget(self.codes_text)
        layout.addWidget(self.stored)
        layout.addWidget(self.done_button, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def start(self, session: StaffSession | None = None) -> None:
        self.session = session or self.session
        accounts, who = self.ctx.accounts, self.session
        run_op(self, lambda: accounts.begin_totp_enrolment(who), self._begun)

    def _begun(self, enrolment: Any) -> None:
        self.enrolment = enrolment
        self.qr.setPixmap(qr_pixmap(enrolment.uri))
        self.secret.setText(grouped(enrolment.secret))
        self.code.setFocus()

    def confirm(self) -> None:
        code = "".join(ch for ch in self.code.text() if ch.isdigit())
        if len(code) != 6:
            self.error.setText(self.tr("Type the 6 digits the app shows."))
            return
        self.confirm_button.setEnabled(False)
        accounts, who = self.ctx.accounts, self.session
        run_op(self, lambda: accounts.confirm_totp_enrolment(who, code=code), self._confirmed,
               self._failed)

    def _confirmed(self, codes: Any) -> None:
        self.codes = codes
        self.codes_text.setPlainText("\n".join(
            "   ".join(codes.codes[i:i + 2]) for i in range(0, len(codes.codes), 2)))
        self.stack.setCurrentIndex(1)
        self.enrolled.emit(codes)

    def _failed(self, error: BaseException) -> None:
        self.confirm_button.setEnabled(True)
        if isinstance(error, ValidationError):
            self.error.setText(" ".join(error.field_errors.values()))
            self.code.selectAll()
            self.code.setFocus()
        else:
            show_error(self, error)


class MfaEnrolmentDialog(QDialog):
    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mfaEnrolmentDialog")
        self.setWindowTitle(self.tr("Set up two-step sign-in"))
        self.setMinimumWidth(560)
        title = QLabel(self.tr("Set up two-step sign-in"))
        title.setObjectName("screenTitle")
        note = QLabel(self.tr("Your role can see patient data, so every sign-in needs a code from "
                              "your phone as well as your password."))
        note.setWordWrap(True)
        note.setObjectName("muted")
        self.panel = MfaEnrolmentPanel(ctx, session)
        self.panel.finished.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 18, 22, 18)
        layout.addWidget(title)
        layout.addWidget(note)
        layout.addWidget(self.panel)
        self.panel.start()
