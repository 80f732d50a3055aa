"""Enrolling this workstation with the clinic's sync server (clinic admins).

The admin types the server's address and the one-time enrolment code a central admin gave
them, may name a CA file for a server with the clinic's own certificate, and, when other
workstations of the clinic already sync, the clinic key code a clinic admin issued on one of
them (it opens the staff accounts' sealed credentials). The exchange runs on the sync thread (it
waits on the network); the device credential goes to the OS keyring (the service does that). A
mistake marks its field and keeps everything typed. Once enrolled, the dialog follows the
workstation's first sync, which downloads the clinic, with a progress bar.

``key_only=True``: an enrolled workstation that lacks the clinic key gets only that field.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..errors import show_error
from ..ops import run_op
from .enrolment_form import FIELDS, EnrolmentForm, failure_errors
from .first_sync_progress import FirstSyncProgress

__all__ = ["FIELDS", "EnrolmentDialog"]


class EnrolmentDialog(QDialog):
    def __init__(self, ctx: Any, session: StaffSession, controller: Any = None,
                 parent: QWidget | None = None, *, server_url: str = "",
                 key_only: bool = False) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.controller = ctx, session, controller
        self.clinic_name: str | None = None
        self.busy = False
        self.enrolled = key_only  # then only the clinic key code is asked for
        self.setObjectName("enrolmentDialog")
        self.setWindowTitle(self.tr("Clinic key code") if key_only
                            else self.tr("Enrol this workstation"))
        self.setMinimumWidth(600)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._form_page(server_url))
        self.pages.addWidget(self._progress_page())
        if key_only:
            self._only_the_key()
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        if controller is not None:
            self.progress.follow(controller)
        self.progress.settled.connect(lambda _ok: self._ready())

    # -- the form ------------------------------------------------------------------------------

    def _form_page(self, server_url: str) -> QWidget:
        page = QWidget()
        intro = QLabel(self.tr(
            "Connect this workstation to the clinic's sync server, so that it shares its records "
            "with the clinic's other workstations. The central administrator gives you the "
            "server's address and a one-time enrolment code (valid for 24 hours)."))
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.form = EnrolmentForm(
            server_url=server_url, device_name_hint=self.tr("Optional, e.g. Front desk"),
            clinic_key_hint=self.tr("Only if other workstations of the clinic already sync"))
        self.inputs, self.errors = self.form.inputs, self.form.errors
        self.server_url, self.code = self.form.server_url, self.form.code
        self.ca_file, self.device_name = self.form.ca_file, self.form.device_name
        self.clinic_key_code = self.form.clinic_key_code
        self.key_hint = self.form.add_hint(self.tr(
            "The clinic key code opens the staff accounts this workstation receives. A clinic "
            "admin makes one on a workstation already in use (Administration › Sync › New "
            "clinic key code); the clinic's first workstation needs none."))
        self.intro = intro
        self.message = QLabel()
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.enrol_button = QPushButton(self.tr("Enrol"))
        self.enrol_button.setProperty("primary", True)
        self.enrol_button.setDefault(True)
        self.enrol_button.clicked.connect(self.enrol)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.enrol_button)
        layout = QVBoxLayout(page)
        layout.setSpacing(12)
        layout.addWidget(intro)
        layout.addWidget(self.form)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def show_errors(self, errors: dict[str, str], message: str = "") -> None:
        other = self.form.show_errors(errors)
        self._say(" ".join([message, other]).strip())

    # -- enrolling -----------------------------------------------------------------------------

    def _only_the_key(self) -> None:
        """Enrolled already: the clinic key code is what is left to enter."""
        self.enrolled = True
        self.form.only_the_key()
        self.form.form.setRowVisible(self.key_hint, False)  # the intro says it now
        self.clinic_key_code.setPlaceholderText("ABCDEF-GHIJKL-MNOPQR-STUVWX")
        self.intro.setText(self.tr(
            "This workstation is enrolled but does not hold the clinic key yet, so it cannot "
            "sync. Enter the clinic key code a clinic admin made on a workstation already in use."))
        self.enrol_button.setText(self.tr("Continue"))

    def enrol(self) -> None:
        if self.busy:
            return
        if self.enrolled:
            self._enter_key()
            return
        ca_file = self.form.ca_path()
        if ca_file is not None and not ca_file.is_file():
            self.show_errors({"ca_file": self.tr("No file at this path: choose the CA "
                                                 "certificate file (.pem).")})
            return
        self.show_errors({})
        self._set_busy(True)
        self._say(self.tr("Connecting…"), error=False)
        sync, who = self.ctx.sync, self.session
        values = dict(server_url=self.server_url.text().strip(), code=self.code.text(),
                      ca_file=ca_file, device_name=self.device_name.text().strip() or None,
                      clinic_key_code=self.clinic_key_code.text().strip() or None)
        run_op(self, lambda: sync.enrol(who, **values), self._enrolled, self._failed,
               executor=self._executor())

    def _enter_key(self) -> None:
        code = self.clinic_key_code.text().strip()
        if not code:
            self.show_errors({"clinic_key_code": self.tr("Enter the clinic key code.")})
            return
        self.show_errors({})
        self._set_busy(True)
        self._say(self.tr("Checking the code…"), error=False)
        sync, who = self.ctx.sync, self.session
        run_op(self, lambda: sync.receive_clinic_key(who, code=code),
               lambda _r: self._enrolled(self.clinic_name or ""), self._failed,
               executor=self._executor())

    def _executor(self) -> Any:
        # The sync thread: enrolment waits on the network and never runs beside a sync.
        return getattr(self.controller, "executor", None)

    def _say(self, text: str, *, error: bool = True) -> None:
        self.message.setObjectName("fieldError" if error else "muted")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.form.set_busy(busy)
        self.enrol_button.setEnabled(not busy)

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        found = failure_errors(self, error, enrolled=self.enrolled)
        if found is None:
            show_error(self, error)
            return
        errors, message = found
        if "clinic_key_code" in errors and not self.enrolled:
            self._only_the_key()  # enrolled: only the key code was wrong
        self.show_errors(errors, message)

    def _enrolled(self, clinic_name: str) -> None:
        self._set_busy(False)
        self.clinic_name = clinic_name
        name = clinic_name or self.tr("the clinic")
        self.done_title.setText(self.tr("Enrolled with %s") % name)
        self.pages.setCurrentIndex(1)
        if self.controller is None:
            self.step.setText(self.tr("The clinic's records are downloaded at the next sync."))
            self._ready()
            return
        self.progress.start()
        self.controller.enrolment_finished()

    # -- the first sync ------------------------------------------------------------------------

    def _progress_page(self) -> QWidget:
        page = QWidget()
        self.progress = FirstSyncProgress()
        self.done_title, self.step = self.progress.title, self.progress.step
        self.bar, self.detail = self.progress.bar, self.progress.detail
        self.detail.setText(self.tr("You can close this window: the download continues in the "
                                    "background, and the status bar shows how far it is."))
        self.close_button = QPushButton(self.tr("Continue in the background"))
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout = QVBoxLayout(page)
        layout.setSpacing(12)
        layout.addStretch(1)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        layout.addLayout(row)
        return page

    def _progressed(self, phase: str, done: int, total: int) -> None:
        if self.pages.currentIndex() == 1:
            self.progress.active = True
            self.progress.progressed(phase, done, total)

    def _ready(self) -> None:
        if self.progress.succeeded is False:
            self.step.setText(self.step.text() + " " + self.tr("It is tried again automatically."))
        self.detail.hide()
        self.close_button.setText(self.tr("Done"))
        self.close_button.setProperty("primary", True)
        self.close_button.setDefault(True)
        self.close_button.style().unpolish(self.close_button)
        self.close_button.style().polish(self.close_button)
