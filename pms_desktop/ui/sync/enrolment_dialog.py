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

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import UserError, ValidationError
from ...domain.session import StaffSession
from ...sync.transport import SyncOffline, SyncRefused
from ..errors import show_error
from ..ops import run_op

FIELDS = ("server_url", "code", "ca_file", "device_name", "clinic_key_code")


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
            controller.sync_progress.connect(self._progressed)
            controller.sync_finished.connect(self._synced)
            controller.sync_failed.connect(self._sync_failed)

    # -- the form ------------------------------------------------------------------------------

    def _form_page(self, server_url: str) -> QWidget:
        page = QWidget()
        intro = QLabel(self.tr(
            "Connect this workstation to the clinic's sync server, so that it shares its records "
            "with the clinic's other workstations. The central administrator gives you the "
            "server's address and a one-time enrolment code (valid for 24 hours)."))
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.server_url = QLineEdit(server_url)
        self.server_url.setPlaceholderText("https://sync.example-clinic.ie")
        self.code = QLineEdit()
        self.code.setPlaceholderText("ABCD-EFGH-JKLM-NPQR")
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText(self.tr("Optional: only for a server with its own CA"))
        self.browse = QPushButton(self.tr("Choose…"))
        self.browse.setAutoDefault(False)
        self.browse.clicked.connect(self._browse)
        self.ca_row = ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse)
        self.device_name = QLineEdit()
        self.device_name.setPlaceholderText(self.tr("Optional, e.g. Front desk"))
        self.device_name.setMaxLength(100)
        self.clinic_key_code = QLineEdit()
        self.clinic_key_code.setPlaceholderText(
            self.tr("Only if other workstations of the clinic already sync"))
        self.inputs = {"server_url": self.server_url, "code": self.code, "ca_file": self.ca_file,
                       "device_name": self.device_name, "clinic_key_code": self.clinic_key_code}
        self.errors: dict[str, QLabel] = {}
        self.form = form = QFormLayout()
        form.setVerticalSpacing(4)
        for name, title, field in (
                ("server_url", self.tr("&Server address"), self.server_url),
                ("code", self.tr("Enrolment &code"), self.code),
                ("ca_file", self.tr("CA &file"), ca_row),
                ("device_name", self.tr("&Workstation name"), self.device_name),
                ("clinic_key_code", self.tr("Clinic &key code"), self.clinic_key_code)):
            label = QLabel(title)
            label.setBuddy(self.inputs[name])
            form.addRow(label, field)
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            form.addRow("", error)
            self.errors[name] = error
            self.inputs[name].textEdited.connect(lambda _t, n=name: self._mark(n, None))
        self.key_hint = QLabel(self.tr(
            "The clinic key code opens the staff accounts this workstation receives. A clinic "
            "admin makes one on a workstation already in use (Administration › Sync › New "
            "clinic key code); the clinic's first workstation needs none."))
        self.key_hint.setWordWrap(True)
        self.key_hint.setObjectName("muted")
        form.addRow("", self.key_hint)
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
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("The server's CA certificate"), "",
                                              self.tr("Certificates (*.pem *.crt *.cer);;All (*)"))
        if name:
            self.ca_file.setText(name)
            self._mark("ca_file", None)

    def _mark(self, name: str, message: str | None) -> None:
        widget, label = self.inputs[name], self.errors[name]
        widget.setProperty("invalid", message is not None)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        label.setText(message or "")
        label.setVisible(message is not None)

    def show_errors(self, errors: dict[str, str], message: str = "") -> None:
        for name in FIELDS:
            self._mark(name, errors.get(name))
        other = [v for k, v in errors.items() if k not in FIELDS]
        self._say(" ".join([message, *other]).strip())
        for name in FIELDS:
            if name in errors:
                self.inputs[name].setFocus()
                break

    # -- enrolling -----------------------------------------------------------------------------

    def _only_the_key(self) -> None:
        """Enrolled already: the clinic key code is what is left to enter."""
        self.enrolled = True
        for name in ("server_url", "code", "ca_file", "device_name"):
            self.form.setRowVisible(self.ca_row if name == "ca_file" else self.inputs[name], False)
            self.form.setRowVisible(self.errors[name], False)
        self.intro.setText(self.tr(
            "This workstation is enrolled but does not hold the clinic key yet, so it cannot "
            "sync. Enter the clinic key code a clinic admin made on a workstation already in use."))
        self.enrol_button.setText(self.tr("Continue"))
        self.clinic_key_code.setFocus()

    def enrol(self) -> None:
        if self.busy:
            return
        if self.enrolled:
            self._enter_key()
            return
        ca_text = self.ca_file.text().strip()
        if ca_text and not Path(ca_text).is_file():
            self.show_errors({"ca_file": self.tr("No file at this path: choose the CA "
                                                 "certificate file (.pem).")})
            return
        self.show_errors({})
        self._set_busy(True)
        self._say(self.tr("Connecting…"), error=False)
        sync, who = self.ctx.sync, self.session
        values = dict(server_url=self.server_url.text().strip(), code=self.code.text(),
                      ca_file=Path(ca_text) if ca_text else None,
                      device_name=self.device_name.text().strip() or None,
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
        for w in (*self.inputs.values(), self.enrol_button):
            w.setEnabled(not busy)

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if isinstance(error, ValidationError):
            if "clinic_key_code" in error.field_errors and not self.enrolled:
                self._only_the_key()  # enrolled: only the key code was wrong
            self.show_errors(error.field_errors)
        elif isinstance(error, SyncOffline) and self.enrolled:
            self.show_errors({}, self.tr("The sync server cannot be reached: try again later."))
        elif isinstance(error, SyncOffline):
            self.show_errors({"server_url": self.tr(
                "No sync server answered at this address. Check the address (and the CA file, "
                "for a server with its own certificate) and that this computer is online.")})
        elif isinstance(error, SyncRefused) and error.status in (400, 401, 403, 404):
            field = "clinic_key_code" if self.enrolled else "code"
            self.show_errors({field: self.tr(
                "The server did not accept this code: it may be mistyped, used already or "
                "expired. Ask for a new one.")})
        elif isinstance(error, UserError):
            self.show_errors({}, str(error))
        else:
            show_error(self, error)

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
        self.step.setText(self.tr("Downloading the clinic's records…"))
        self.controller.enrolment_finished()

    # -- the first sync ------------------------------------------------------------------------

    def _progress_page(self) -> QWidget:
        page = QWidget()
        self.done_title = QLabel()
        self.done_title.setObjectName("sectionTitle")
        self.step = QLabel()
        self.step.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("firstSyncProgress")
        self.bar.setRange(0, 0)  # busy until the first page tells the total
        self.detail = QLabel(self.tr("You can close this window: the download continues in the "
                                     "background, and the status bar shows how far it is."))
        self.detail.setWordWrap(True)
        self.detail.setObjectName("muted")
        self.close_button = QPushButton(self.tr("Continue in the background"))
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout = QVBoxLayout(page)
        layout.setSpacing(12)
        layout.addStretch(1)
        layout.addWidget(self.done_title)
        layout.addWidget(self.step)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        layout.addStretch(1)
        layout.addLayout(row)
        return page

    def _progressed(self, phase: str, done: int, total: int) -> None:
        if self.pages.currentIndex() != 1:
            return
        if phase == "push":
            self.step.setText(self.tr("Sending this workstation's changes…"))
        elif phase == "pull" and total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.step.setText(self.tr("Downloading the clinic's records… %d%%")
                              % (100 * done // total))

    def _synced(self, result: Any) -> None:
        if self.pages.currentIndex() != 1:
            return
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.step.setText(self.tr("Done: %d records downloaded, %d sent.")
                          % (result.pulled, result.pushed))
        self._ready()

    def _sync_failed(self, message: str, offline: bool) -> None:
        if self.pages.currentIndex() != 1:
            return
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.step.setText(self.tr("The first sync did not finish: %s It is tried again "
                                  "automatically.") % message)
        self._ready()

    def _ready(self) -> None:
        self.detail.hide()
        self.close_button.setText(self.tr("Done"))
        self.close_button.setProperty("primary", True)
        self.close_button.setDefault(True)
        self.close_button.style().unpolish(self.close_button)
        self.close_button.style().polish(self.close_button)
