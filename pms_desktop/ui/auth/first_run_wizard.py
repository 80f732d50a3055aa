"""First start on a computer: set up a new clinic, or join the clinic's existing setup.

New clinic: the clinic, this workstation, the first admin and their MFA. Creates the encrypted
database (off the GUI thread), shows its recovery secret exactly once (with a printable PDF and
an "I have stored it" confirmation), then enrols the admin's authenticator. On success ``ctx``
and ``session`` hold the open clinic and the signed-in admin.

Join (``join_clinic_pages``): server, codes and this workstation's name; the encrypted store,
enrolment and clinic key (``services.workstation_join``), the recovery secret, then the first
sync with a progress bar. On success ``ctx`` holds the joined clinic and ``session`` is None:
the clinic's staff sign in next (``ui/app.py``). Cancelled once enrolled, the wizard gives the
device credential back to the server before it closes (or says what the central admin should
revoke).
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, Qt
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from ...context import build_context
from ...domain.errors import UserError, ValidationError
from ...security.passwords import password_problems
from ...services.accounts_startup import create_database
from ...services.workstation_join import ClinicJoin, JoinRequest
from ..errors import show_error
from ..ops import run_op
from ..sync.sync_controller import SyncController
from .join_clinic_pages import FirstSyncPage, JoinPage, StartPage
from .mfa_enrolment_dialog import MfaEnrolmentPanel

START, CLINIC, ADMIN, SECRET, MFA, JOIN, FIRST_SYNC = range(7)


def _line(name: str, text: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setAccessibleName(name)
    return edit


class ClinicPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Your clinic"))
        self.setSubTitle(
            self.tr("The name printed on invoices and letters, and a name for this computer."))
        self.clinic = _line(self.tr("Clinic name"))
        self.workstation = _line(self.tr("Workstation name"), self.tr("Front desk"))
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(zoneinfo.available_timezones()))
        self.timezone.setCurrentText("Europe/Dublin")
        self.timezone.setAccessibleName(self.tr("Time zone"))
        form = QFormLayout(self)
        form.addRow(self.tr("Clinic &name"), self.clinic)
        form.addRow(self.tr("&Workstation"), self.workstation)
        form.addRow(self.tr("&Time zone"), self.timezone)
        self.registerField("clinic*", self.clinic)


class AdminPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("The first administrator"))
        self.setSubTitle(self.tr("This person manages staff accounts and the clinic's settings."))
        self.username = _line(self.tr("User name"), "admin")
        self.display_name = _line(self.tr("Full name"))
        self.password = _line(self.tr("Password"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = _line(self.tr("Repeat password"))
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.feedback = QLabel()
        self.feedback.setObjectName("passwordFeedback")
        self.feedback.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("&User name"), self.username)
        form.addRow(self.tr("&Full name"), self.display_name)
        form.addRow(self.tr("&Password"), self.password)
        form.addRow(self.tr("&Repeat"), self.confirm)
        form.addRow("", self.feedback)
        form.addRow("", self.error)
        for edit in (self.username, self.display_name, self.password, self.confirm):
            edit.textChanged.connect(self._check)
        self._ready = False
        self._check()

    def problems(self) -> list[str]:
        found = password_problems(self.password.text(), username=self.username.text().strip(),
                                  display_name=self.display_name.text())
        if self.password.text() and self.confirm.text() != self.password.text():
            found.append(self.tr("The two passwords differ."))
        return found

    def _check(self) -> None:
        found = (self.problems() if self.password.text()
                 else [self.tr("Choose a password of 12 or more characters.")])
        ok = not found
        self.feedback.setText(self.tr("✓ A good password.") if ok
                              else "\n".join("• " + p for p in found))
        self.feedback.setStyleSheet("color: #2e7d32;" if ok else "color: #8a4b00;")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return bool(self.username.text().strip() and self.display_name.text().strip()
                    and not self.problems() and self.password.text())

    def validatePage(self) -> bool:  # noqa: N802
        if self._ready:
            return True
        self.wiz.create_clinic(self)
        return False

    def created(self) -> None:
        self._ready = True
        self.wiz.next()


class RecoverySecretPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("The clinic's recovery secret"))
        self.setSubTitle(self.tr("It opens the clinic's data if this computer's key store is lost. "
                                 "It is shown only now: print it or save it, and keep it "
                                 "somewhere safe."))
        self.secret = QLabel()
        self.secret.setObjectName("recoverySecret")
        self.secret.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.secret.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont("Monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSizeF(13)
        font.setBold(True)
        self.secret.setFont(font)
        self.secret.setStyleSheet("background: white; border: 1px solid #c3ccd6;"
                                  " border-radius: 6px; padding: 14px;")
        self.secret.setWordWrap(True)
        self.save_button = QPushButton(self.tr("Print / Save as PDF…"))
        self.save_button.clicked.connect(self._save_dialog)
        self.stored = QCheckBox(self.tr("I have stored the recovery secret somewhere safe"))
        self.stored.toggled.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.secret)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        layout.addWidget(self.stored)

    def initializePage(self) -> None:  # noqa: N802
        self.secret.setText(self.wiz.recovery_secret or "")

    def isComplete(self) -> bool:  # noqa: N802
        return self.stored.isChecked()

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the recovery secret"),
                                              str(Path.home() / "clinic-recovery-secret.pdf"),
                                              "PDF (*.pdf)")
        if path:
            self.save_pdf(Path(path))

    def save_pdf(self, path: Path) -> None:
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(20, 20, 20, 20), QPageLayout.Unit.Millimeter)
        writer.setTitle("Clinic recovery secret")
        painter = QPainter(writer)
        dpi = writer.resolution()
        y = int(dpi * 0.5)
        painter.setFont(QFont("Sans", 16, QFont.Weight.Bold))
        painter.drawText(0, y,
                         self.tr("Recovery secret: {clinic}").format(clinic=self.wiz.clinic_name))
        painter.setFont(QFont("Sans", 10))
        y += int(dpi * 0.5)
        painter.drawText(0, y, self.tr(
            "Opens the clinic's encrypted data where this computer's key store is lost."))
        painter.setFont(QFont("Monospace", 14, QFont.Weight.Bold))
        groups = (self.wiz.recovery_secret or "").split("-")
        for line_no, start in enumerate(range(0, len(groups), 4)):
            painter.drawText(0, y + int(dpi * (0.7 + 0.4 * line_no)),
                             "-".join(groups[start:start + 4]))
        painter.end()


class MfaPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Two-step sign-in for the administrator"))
        self.panel: MfaEnrolmentPanel | None = None
        self.box = QVBoxLayout(self)

    def initializePage(self) -> None:  # noqa: N802
        if self.panel is None:
            self.panel = MfaEnrolmentPanel(self.wiz.ctx, self.wiz.session)
            self.panel.done_button.hide()
            self.panel.stored.toggled.connect(self.completeChanged)
            self.box.addWidget(self.panel)
            self.panel.start()

    def isComplete(self) -> bool:  # noqa: N802
        return self.panel is not None and self.panel.stored.isChecked()


class FirstRunWizard(QWizard):
    def __init__(self, data_dir: Path, parent: Any = None) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.ctx: Any = None
        self.session: Any = None
        self.recovery_secret: str | None = None
        self.clinic_name = ""
        self.joining = ClinicJoin(self.data_dir)  # kept across retries of the join
        self.joined = False
        self.busy = False
        self.withdraw_notice: QMessageBox | None = None  # offline cancel: what to revoke
        self._sync: SyncController | None = None
        self.setObjectName("firstRunWizard")
        self.setWindowTitle(self.tr("Set up this computer"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setMinimumSize(680, 560)
        for which in (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                      QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton):
            # Room for the bold text of the default button: its width is not measured again
            # when it becomes the default ("Finish" was cut).
            self.button(which).setMinimumWidth(96)
        self.start_page = StartPage(self)
        self.clinic_page = ClinicPage()
        self.admin_page = AdminPage(self)
        self.secret_page = RecoverySecretPage(self)
        self.mfa_page = MfaPage(self)
        self.join_page = JoinPage(self)
        self.sync_page = FirstSyncPage(self)
        for page_id, page in ((START, self.start_page), (CLINIC, self.clinic_page),
                              (ADMIN, self.admin_page), (SECRET, self.secret_page),
                              (MFA, self.mfa_page), (JOIN, self.join_page),
                              (FIRST_SYNC, self.sync_page)):
            self.setPage(page_id, page)
        self.setStartId(START)

    def nextId(self) -> int:  # noqa: N802
        joining = self.start_page.join.isChecked()
        return {START: JOIN if joining else CLINIC, CLINIC: ADMIN, ADMIN: SECRET,
                SECRET: FIRST_SYNC if joining else MFA, JOIN: SECRET}.get(self.currentId(), -1)

    # -- joining the clinic's existing setup -------------------------------------------------------

    def join_clinic(self, page: JoinPage, request: JoinRequest) -> None:
        """Make the store, enrol and receive the clinic key, off the GUI thread; on a mistake
        the page keeps what was typed, and a retry continues from where this one stopped."""
        joining = self.joining

        def work() -> Any:
            return build_context(joining.run(request))

        def done(ctx: Any) -> None:
            self._set_busy(False)
            self._tell_earlier()
            self.ctx, self.joined = ctx, True
            self.recovery_secret = joining.recovery_secret
            self.clinic_name = joining.clinic_name or ""
            self.start_page.refresh()
            page.joined()

        def failed(error: BaseException) -> None:
            self._set_busy(False)
            self._tell_earlier()
            self.start_page.refresh()
            if not page.failed(error, enrolled=joining.enrolled, clinic_name=joining.clinic_name):
                show_error(self, error)

        self._set_busy(True)
        page.show_errors({})
        page.say(self.tr("Connecting to the sync server…"), error=False)
        run_op(self, work, done, failed, label=self.tr("Joining the clinic…"))

    def _tell_earlier(self) -> None:
        """An interrupted earlier attempt (the application was killed) left an enrolment that
        could not be given back: say once which device the central admin should revoke."""
        earlier, self.joining.earlier = self.joining.earlier, None
        if earlier is not None and not earlier.withdrawn:
            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Earlier enrolment not withdrawn"),
                              earlier.message, QMessageBox.StandardButton.Ok, self)
            box.setObjectName("earlierEnrolmentNotWithdrawn")
            box.open()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.join_page.form.set_busy(busy)
        for which in (QWizard.WizardButton.NextButton, QWizard.WizardButton.BackButton,
                      QWizard.WizardButton.CancelButton):
            self.button(which).setEnabled(not busy)

    def sync_controller(self) -> SyncController:
        """The first sync's controller: its own thread; nothing planned after it (the
        application's own controller takes over once the wizard is done)."""
        if self._sync is None:
            hour = 3_600_000
            self._sync = SyncController(self.ctx, self, interval_ms=hour, first_after_ms=hour,
                                        change_delay_ms=hour, watch_network=False)
            self.sync_page.progress.follow(self._sync)
        return self._sync

    def done(self, result: int) -> None:
        if self.busy and result != QWizard.DialogCode.Accepted:
            return  # a join is under way: cancel once it has answered
        if result != QWizard.DialogCode.Accepted and self.joining.holds_enrolment:
            self._withdraw_then_close(result)
            return
        if self._sync is not None:
            self._sync.shutdown(timeout_s=15)
            self._sync = None
        if result != QWizard.DialogCode.Accepted:
            self.joining.abandon()  # a join not finished leaves nothing behind
            if self.joined and self.ctx is not None:
                self.ctx.close()
                self.ctx = None
        super().done(result)

    def _withdraw_then_close(self, result: int) -> None:
        """Cancelled once enrolled: the enrolment code is spent, so the device credential is
        given back to the server (off the GUI thread) before the wizard closes; when that
        cannot be done, the person is told which device the central admin should revoke."""
        self._set_busy(True)
        self.join_page.say(self.tr("Withdrawing this computer's enrolment at the sync "
                                   "server…"), error=False)

        def given_back(withdrawal: Any) -> None:
            self._set_busy(False)
            if withdrawal is None or withdrawal.withdrawn:
                self.done(result)
                return
            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Enrolment not withdrawn"),
                              withdrawal.message, QMessageBox.StandardButton.Ok, self)
            box.setObjectName("enrolmentNotWithdrawn")
            box.finished.connect(lambda _code: self.done(result))
            self.withdraw_notice = box
            box.open()

        def failed(error: BaseException) -> None:
            self._set_busy(False)
            show_error(self, error)
            self.done(result)

        run_op(self, self.joining.abandon, given_back, failed,
               label=self.tr("Withdrawing the enrolment…"))

    def create_clinic(self, page: AdminPage) -> None:
        """Create the database, the clinic and the admin, sign the admin in: off the GUI thread."""
        c, a = self.clinic_page, page
        values = dict(clinic_name=c.clinic.text().strip(),
                      workstation_name=c.workstation.text().strip(),
                      timezone=c.timezone.currentText(), admin_username=a.username.text().strip(),
                      admin_display_name=a.display_name.text().strip(),
                      admin_password=a.password.text())
        self.clinic_name = values["clinic_name"]
        folder = self.data_dir
        if not self.joining.enrolled:
            self.joining.abandon()  # a join tried first and given up: its staged store goes
        # Kept across a failed attempt: the database exists once created, whatever follows.
        made: dict[str, Any] = {"ctx": self.ctx, "secret": self.recovery_secret}

        def work() -> tuple[Any, str | None, Any]:
            if made["ctx"] is None:
                db, made["secret"] = create_database(folder)
                made["ctx"] = build_context(db)
            ctx, secret = made["ctx"], made["secret"]
            if not ctx.setup.has_clinic():
                ctx.setup.create_clinic(**values)
            session = ctx.accounts.sign_in(username=values["admin_username"],
                                           password=values["admin_password"], totp_code="")
            return ctx, secret, session

        self.button(QWizard.WizardButton.NextButton).setEnabled(False)
        page.error.setText(self.tr("Creating the encrypted clinic database…"))

        def done(result: tuple[Any, str | None, Any]) -> None:
            self.ctx, secret, self.session = result
            self.recovery_secret = secret or self.recovery_secret
            self.start_page.refresh()
            page.error.clear()
            page.created()

        def failed(error: BaseException) -> None:
            self.ctx, self.recovery_secret = made["ctx"], made["secret"]
            self.button(QWizard.WizardButton.NextButton).setEnabled(True)
            if isinstance(error, ValidationError):
                page.error.setText(" ".join(error.field_errors.values()))
            elif isinstance(error, UserError):
                page.error.setText(str(error))
            else:
                page.error.clear()
                show_error(self, error)

        run_op(self, work, done, failed, label=self.tr("Creating the clinic…"))
