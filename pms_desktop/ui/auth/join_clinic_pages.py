"""The first-run wizard's start and its "Join our clinic's existing setup" path.

``StartPage`` asks whether this computer sets up a new clinic or joins one that already syncs.
``JoinPage`` takes what joining needs (server address, enrolment code from the central admin,
clinic key code from a clinic admin, an optional CA file, this workstation's name) and, off the
GUI thread, makes the encrypted store, enrols and receives the clinic key
(``services.workstation_join``): a mistake marks its field and keeps what was typed; once
enrolled only the clinic key code is left to correct. The recovery secret page follows (shared
with the new-clinic path), then ``FirstSyncPage`` downloads the clinic with a progress bar on
the sync thread; the clinic's staff then sign in with their own passwords.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from ...services.workstation_join import JoinRequest, join_problems
from ..sync.enrolment_form import EnrolmentForm, failure_errors
from ..sync.first_sync_progress import FirstSyncProgress

if TYPE_CHECKING:
    from .first_run_wizard import FirstRunWizard


class StartPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Welcome"))
        self.setSubTitle(self.tr("Is this the clinic's first computer with the practice system, "
                                 "or does the clinic already use it on another one?"))
        self.new = QRadioButton(self.tr("Set up a new clinic"))
        self.join = QRadioButton(self.tr("Join our clinic's existing setup"))
        self.new.setChecked(True)
        self.group = QButtonGroup(self)
        self.cards: list[ChoiceCard] = []
        layout = QVBoxLayout(self)
        layout.setSpacing(14)
        for button, text in (
                (self.new, self.tr(
                    "The clinic starts using the system on this computer: you name the clinic "
                    "and its first administrator.")),
                (self.join, self.tr(
                    "The clinic already works with the system on another computer and shares "
                    "its records through a sync server. This computer receives the clinic's "
                    "records and staff accounts. You need the server's address and an "
                    "enrolment code from your central administrator, and a clinic key code "
                    "from a clinic admin."))):
            self.group.addButton(button)
            self.cards.append(ChoiceCard(button, text))
            layout.addWidget(self.cards[-1])
        self.new_card, self.join_card = self.cards
        self.locked = QLabel()
        self.locked.setObjectName("muted")
        self.locked.setWordWrap(True)
        self.locked.hide()
        layout.addWidget(self.locked)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802
        self.refresh()

    def refresh(self) -> None:
        """After an attempt, the path that made something cannot be swapped for the other."""
        joined = self.wiz.joining.enrolled or (self.wiz.ctx is not None and self.wiz.joined)
        made_new = self.wiz.ctx is not None and not self.wiz.joined
        self.new.setEnabled(not joined)
        self.join.setEnabled(not made_new)
        if joined:
            self.join.setChecked(True)
            self.locked.setText(self.tr("This computer is enrolled with the clinic's sync "
                                        "server already: finish joining, or cancel."))
        self.locked.setVisible(joined or made_new)
        if made_new:
            self.locked.setText(self.tr("The new clinic is created on this computer already."))


class ChoiceCard(QFrame):
    """A radio button with its explanation under it; a click anywhere on it chooses it."""

    def __init__(self, button: QRadioButton, text: str) -> None:
        super().__init__()
        self.button = button
        self.setObjectName("choiceCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        font = button.font()
        font.setBold(True)
        button.setFont(font)
        label = QLabel(text)
        label.setObjectName("muted")
        label.setWordWrap(True)
        label.setContentsMargins(26, 0, 0, 0)  # under the button's text, past its indicator
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 10, 12, 10)
        box.addWidget(button)
        box.addWidget(label)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.button.isEnabled() and event.button() == Qt.MouseButton.LeftButton:
            self.button.setChecked(True)
            self.button.setFocus()
        super().mousePressEvent(event)


class JoinPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.ready = False
        self.setTitle(self.tr("Join your clinic"))
        self.setSubTitle(self.tr("Connect this computer to the clinic's sync server. It gets the "
                                 "clinic's records and staff, and numbers its own invoices."))
        # What people have at hand first: the server and its code, the key, then the rest.
        self.form = EnrolmentForm(
            clinic_key_hint="ABCDEF-GHIJKL-MNOPQR-STUVWX",
            order=("server_url", "code", "clinic_key_code", "device_name", "ca_file"))
        self.form.device_name.setText(self.tr("Consulting room"))
        self.hint = QLabel(self.tr(
            "The central administrator gives you the server's address and a one-time enrolment "
            "code (valid for 24 hours). A clinic admin makes the clinic key code on a computer "
            "already in use: Administration › Sync › New clinic key code."))
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setSpacing(14)
        layout.addWidget(self.form)
        layout.addWidget(self.hint)
        layout.addStretch(1)
        layout.addWidget(self.message)

    def request(self) -> JoinRequest:
        f = self.form
        return JoinRequest(server_url=f.server_url.text(), code=f.code.text(),
                           clinic_key_code=f.clinic_key_code.text(),
                           workstation_name=f.device_name.text(), ca_file=f.ca_path())

    def validatePage(self) -> bool:  # noqa: N802
        if self.ready:
            return True
        request = self.request()
        errors = join_problems(request)
        if self.wiz.joining.enrolled:
            errors = {k: v for k, v in errors.items() if k == "clinic_key_code"}
        if errors:  # nothing is sent: an enrolment code works once
            self.show_errors(errors)
            return False
        self.wiz.join_clinic(self, request)
        return False

    def show_errors(self, errors: dict[str, str], message: str = "") -> None:
        other = self.form.show_errors(errors)
        self.say(" ".join([message, other]).strip())

    def say(self, text: str, *, error: bool = True) -> None:
        self.message.setObjectName("fieldError" if error else "muted")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)

    def only_the_key(self, clinic_name: str | None) -> None:
        self.form.only_the_key()
        self.hint.setText(self.tr(
            "A clinic admin makes the clinic key code on a computer already in use: "
            "Administration › Sync › New clinic key code. Each new code replaces the last one."))
        self.setSubTitle(self.tr("This computer is enrolled with %s. Enter the clinic key code "
                                 "to finish: it opens the staff accounts this computer "
                                 "receives.") % (clinic_name or self.tr("the clinic")))

    def joined(self) -> None:
        self.ready = True
        self.say("")
        self.wiz.next()

    def failed(self, error: BaseException, *, enrolled: bool, clinic_name: str | None) -> bool:
        """Show what went wrong on the page; False when it is no user error (a bug)."""
        found = failure_errors(self, error, enrolled=enrolled)
        if found is None:
            self.say("")
            return False
        errors, message = found
        if enrolled:
            self.only_the_key(clinic_name)
        self.show_errors(errors, message)
        return True


class FirstSyncPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Downloading your clinic"))
        self.setSubTitle(self.tr("The clinic's records and staff accounts come to this computer. "
                                 "A large clinic may take a few minutes."))
        self.progress = FirstSyncProgress()
        self.progress.settled.connect(self._settled)
        self.retry = QPushButton(self.tr("Try again"))
        self.retry.setAutoDefault(False)
        self.retry.clicked.connect(self.start)
        self.retry.hide()
        row = QHBoxLayout()
        row.addWidget(self.retry)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.progress)
        layout.addLayout(row)
        layout.addStretch(2)

    def initializePage(self) -> None:  # noqa: N802
        self.progress.title.setText(self.tr("Joined %s") % (self.wiz.clinic_name
                                                             or self.tr("the clinic")))
        if self.progress.succeeded is None and not self.progress.active:
            self.start()

    def start(self) -> None:
        self.retry.hide()
        self.progress.detail.setText(self.tr("The staff of the clinic sign in here once it is "
                                             "done, each with their own password."))
        controller = self.wiz.sync_controller()
        self.progress.start()
        controller.enrolment_finished()
        self.completeChanged.emit()

    def _settled(self, ok: bool) -> None:
        self.retry.setVisible(not ok)
        if not ok:
            self.progress.detail.setText(self.tr(
                "Nothing is lost: what has come is kept, and the download continues where it "
                "stopped. Check the connection and try again."))
        else:
            self.progress.detail.setText(self.tr("Finish, then sign in with your own user name "
                                                 "and password."))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.progress.succeeded is True
