"""The fields of enrolling a workstation with the clinic's sync server, each with its own error
line: server address, enrolment code, CA file, this workstation's name, clinic key code.

Shared by the enrolment dialog (Administration › Sync) and the first-run wizard's "Join" path.
A mistake marks its field and keeps everything typed; once the workstation is enrolled, only the
clinic key code is left to correct (``only_the_key``). ``failure_errors`` turns what went wrong
(an error raised by the sync service) into field errors and a message, in one place.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from ...domain.errors import UserError, ValidationError
from ...sync.transport import SyncOffline, SyncRefused, SyncUntrusted
from ..errors import mark_invalid

FIELDS = ("server_url", "code", "ca_file", "device_name", "clinic_key_code")


class EnrolmentForm(QWidget):
    def __init__(self, *, server_url: str = "", device_name_hint: str = "",
                 clinic_key_hint: str = "", order: tuple[str, ...] = FIELDS,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # As tall as its rows: the space left over belongs to the page, not between them.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.server_url = QLineEdit(server_url)
        self.server_url.setPlaceholderText("https://sync.example-clinic.ie")
        self.code = QLineEdit()
        self.code.setPlaceholderText("ABCD-EFGH-JKLM-NPQR")
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText(self.tr("Optional: only for a server with its own CA"))
        self.browse = QPushButton(self.tr("Choose…"))
        self.browse.setAutoDefault(False)
        self.browse.setAccessibleName(self.tr("Choose the CA file"))
        self.browse.clicked.connect(self._browse)
        self.ca_row = ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse)
        self.device_name = QLineEdit()
        self.device_name.setPlaceholderText(device_name_hint or self.tr("e.g. Consulting room 2"))
        self.device_name.setMaxLength(100)
        self.clinic_key_code = QLineEdit()
        self.clinic_key_code.setPlaceholderText(clinic_key_hint or "ABCDEF-GHIJKL-MNOPQR-STUVWX")
        self.inputs = {"server_url": self.server_url, "code": self.code, "ca_file": self.ca_file,
                       "device_name": self.device_name, "clinic_key_code": self.clinic_key_code}
        names = {"server_url": self.tr("Server address"), "code": self.tr("Enrolment code"),
                 "ca_file": self.tr("CA file"), "device_name": self.tr("Workstation name"),
                 "clinic_key_code": self.tr("Clinic key code")}
        self.errors: dict[str, QLabel] = {}
        self.hidden: set[str] = set()  # rows no longer asked for (enrolled already)
        self.form = form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(4)
        titles = {"server_url": self.tr("&Server address"), "code": self.tr("Enrolment &code"),
                  "ca_file": self.tr("CA &file"), "device_name": self.tr("&Workstation name"),
                  "clinic_key_code": self.tr("Clinic &key code")}
        for name in order:
            label = QLabel(titles[name])
            label.setBuddy(self.inputs[name])
            self.inputs[name].setAccessibleName(names[name])
            form.addRow(label, ca_row if name == "ca_file" else self.inputs[name])
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            form.addRow("", error)
            form.setRowVisible(error, False)  # the whole row: no gap under a correct field
            self.errors[name] = error
            self.inputs[name].textEdited.connect(lambda _t, n=name: self.mark(n, None))

    def add_hint(self, text: str) -> QLabel:
        hint = QLabel(text)
        hint.setWordWrap(True)
        hint.setObjectName("muted")
        self.form.addRow("", hint)
        return hint

    def values(self) -> dict[str, str]:
        return {name: widget.text() for name, widget in self.inputs.items()}

    def ca_path(self) -> Path | None:
        text = self.ca_file.text().strip()
        return Path(text) if text else None

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("The server's CA certificate"), "",
                                              self.tr("Certificates (*.pem *.crt *.cer);;All (*)"))
        if name:
            self.ca_file.setText(name)
            self.mark("ca_file", None)

    def mark(self, name: str, message: str | None) -> None:
        widget, label = self.inputs[name], self.errors[name]
        mark_invalid(widget, message is not None)
        label.setText(message or "")
        self.form.setRowVisible(label, message is not None and name not in self.hidden)

    def show_errors(self, errors: dict[str, str]) -> str:
        """Mark the fields named in ``errors`` (clear the others), focus the first one; returns
        the messages that belong to no field."""
        for name in FIELDS:
            self.mark(name, errors.get(name))
        for name in FIELDS:
            if name in errors:
                self.inputs[name].setFocus()
                break
        return " ".join(v for k, v in errors.items() if k not in FIELDS)

    def set_busy(self, busy: bool) -> None:
        for widget in (*self.inputs.values(), self.browse):
            widget.setEnabled(not busy)

    def only_the_key(self) -> None:
        """Enrolled already: the clinic key code is what is left to enter."""
        self.hidden.update(("server_url", "code", "ca_file", "device_name"))
        for name in self.hidden:
            self.form.setRowVisible(self.ca_row if name == "ca_file" else self.inputs[name], False)
            self.form.setRowVisible(self.errors[name], False)
        self.clinic_key_code.setFocus()


def failure_errors(source: QObject, error: BaseException, *,
                   enrolled: bool) -> tuple[dict[str, str], str] | None:
    """Field errors and a message for an enrolment or a clinic key code that failed; None for
    an unexpected error (for ``show_error``). ``enrolled``: the enrolment went through already,
    so a refusal is about the clinic key code."""
    tr = source.tr
    if isinstance(error, ValidationError):
        return dict(error.field_errors), ""
    if isinstance(error, SyncOffline) and enrolled:
        return {}, tr("The sync server cannot be reached: try again in a moment.")
    if isinstance(error, SyncOffline):
        return {"server_url": tr(
            "No sync server answered at this address. Check the address (and the CA file, "
            "for a server with its own certificate) and that this computer is online.")}, ""
    if isinstance(error, SyncUntrusted) and not enrolled:  # what to check is in its message
        return {"server_url": str(error)}, ""
    if isinstance(error, SyncRefused) and error.status in (400, 401, 403, 404):
        field = "clinic_key_code" if enrolled else "code"
        return {field: tr("The server did not accept this code: it may be mistyped, used "
                          "already or expired. Ask for a new one.")}, ""
    if isinstance(error, UserError):
        return {}, str(error)
    return None
