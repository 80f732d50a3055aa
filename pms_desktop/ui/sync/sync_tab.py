"""Administration › Sync: this workstation's name and server, last sync, what waits; rename it
(clinic admins); enrol it; sync now; make a clinic key code for a workstation joining the
clinic, or enter one here.

The background ``SyncController`` is the main window's (``main_window.sync_controller``);
without one (a window built on its own) the tab still reads the status and can enrol.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.permissions import Permission, allows
from ...domain.session import StaffSession
from ..errors import show_error
from ..ops import run_op
from ..widgets.change_bus import change_bus
from ..widgets.dates import day_time_text
from .conflict_format import relative
from .enrolment_dialog import EnrolmentDialog
from .workstation_name_dialog import WorkstationNameDialog


class SyncTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, main_window: Any = None,
                 status: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window, self.status_message = (ctx, session,
                                                                         main_window, status)
        self.setObjectName("syncTab")
        self.status: Any = None
        self.dialog: EnrolmentDialog | None = None
        self.name_dialog: WorkstationNameDialog | None = None
        self.workstation: Any = None  # WorkstationName, once read
        self._connected: Any = None
        intro = QLabel(self.tr(
            "This workstation keeps the clinic's records and works without a network. When the "
            "sync server can be reached, it exchanges changes with it in the background, every "
            "few minutes and shortly after each change."))
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.server = QLabel()
        self.device = QLabel()
        self.last = QLabel()
        self.pending = QLabel()
        self.conflicts = QLabel()
        for label in (self.server, self.device, self.last, self.pending, self.conflicts):
            label.setWordWrap(True)
        self.name = QLabel()
        self.name.setObjectName("workstationName")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setStyleSheet("font-weight: 600")
        form = QFormLayout()
        form.addRow(self.tr("Server"), self.server)
        self.rename_button = QPushButton(self.tr("Rename…"))
        self.rename_button.setObjectName("renameWorkstation")
        self.rename_button.setToolTip(self.tr("Give this workstation a clear name, such as "
                                              "Reception 1"))
        self.rename_button.clicked.connect(self.open_rename)
        self.rename_button.setVisible(allows(session.role, Permission.SETTINGS))
        name_row = QHBoxLayout()
        name_row.addWidget(self.name)
        name_row.addSpacing(12)
        name_row.addWidget(self.rename_button)
        name_row.addStretch(1)
        # As tall as the Rename button beside the name, so that the label sits level with it
        name_label = QLabel(self.tr("This workstation"))
        name_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        name_label.setMinimumHeight(self.rename_button.sizeHint().height())
        form.addRow(name_label, name_row)
        form.addRow(self.tr("On the server"), self.device)
        form.addRow(self.tr("Last sync"), self.last)
        form.addRow(self.tr("Changes to send"), self.pending)
        form.addRow(self.tr("Conflicts"), self.conflicts)
        self.enrol_button = QPushButton(self.tr("Enrol this workstation…"))
        self.enrol_button.setProperty("primary", True)
        self.enrol_button.clicked.connect(self.open_enrolment)
        self.sync_button = QPushButton(self.tr("Sync now"))
        self.sync_button.clicked.connect(self.sync_now)
        self.key_button = QPushButton(self.tr("New clinic key code…"))
        self.key_button.setToolTip(self.tr("For a workstation joining the clinic: it opens the "
                                           "staff accounts that workstation receives"))
        self.key_button.clicked.connect(self.issue_key_code)
        self.key_button.setVisible(allows(session.role, Permission.MANAGE_USERS))
        self.enter_key_button = QPushButton(self.tr("Enter clinic key code…"))
        self.enter_key_button.clicked.connect(self.open_key_entry)
        self.enter_key_button.hide()
        self.key_box: QMessageBox | None = None
        row = QHBoxLayout()
        for button in (self.enrol_button, self.sync_button, self.enter_key_button,
                       self.key_button):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)  # as far in as the other tabs' group boxes
        layout.setSpacing(12)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addStretch(1)
        change_bus(ctx).changed.connect(self._changed)
        self.refresh()

    @property
    def controller(self) -> Any:
        controller = getattr(self.main_window, "sync_controller", None)
        if controller is not None and controller is not self._connected:
            controller.status_changed.connect(self._show)
            controller.status_changed.connect(self._reload_name)  # sent to the server?
            self._connected = controller
        return controller

    def refresh(self) -> None:
        run_op(self, self.ctx.sync.device_status, self._show)
        self._reload_name()

    def _changed(self, topic: str, _info: dict[str, Any]) -> None:
        if topic == "workstation.renamed":
            self._reload_name()

    def _reload_name(self, *_: Any) -> None:
        run_op(self, self.ctx.workstation.current, self._show_name)

    def _show_name(self, workstation: Any) -> None:
        self.workstation = workstation
        if self.status is not None:
            self._show(self.status)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        _ = self.controller  # follow its status from now on
        self.refresh()

    def _show(self, status: Any) -> None:
        self.status = status
        if self.workstation is not None:  # (read apart from the status: it may come later)
            self.name.setText(self.workstation.name or self.tr("(no name yet)"))
        if not status.enrolled:
            self.server.setText(self.tr("Not enrolled: this workstation does not sync yet."))
            self.device.setText("—")
        else:
            self.server.setText(status.server_url or "")
            device = getattr(status, "device_id", None)
            where = self.tr("Enrolled as device %s") % device if device else self.tr("Enrolled")
            if self.workstation is not None and not self.workstation.on_server:
                where += self.tr(". The server learns the new name at the next sync.")
            self.device.setText(where)
        last = status.last_sync_at
        exact = day_time_text(last.astimezone()) if last else ""
        self.last.setText(f"{relative(last, datetime.now(UTC))} ({exact})" if last
                          else self.tr("Never"))
        if status.last_error:
            self.last.setText(self.last.text() + "\n" + status.last_error)
        self.pending.setText(str(status.pending_changes))
        self.conflicts.setText(self.tr("%d to resolve, %d refused changes")
                               % (status.conflicts, status.quarantined))
        self.enrol_button.setText(self.tr("Enrol again…") if status.enrolled
                                  else self.tr("Enrol this workstation…"))
        self.sync_button.setEnabled(status.enrolled and self.controller is not None)
        self.key_button.setEnabled(status.enrolled and status.clinic_key_held)
        # Without the key a joining workstation's syncs fail (the error says why).
        self.enter_key_button.setVisible(status.enrolled and not status.clinic_key_held
                                         and status.last_error is not None)

    def open_enrolment(self, *, key_only: bool = False) -> EnrolmentDialog:
        server = self.status.server_url if self.status is not None else ""
        dialog = EnrolmentDialog(self.ctx, self.session, self.controller, self,
                                 server_url=server or "", key_only=key_only)
        dialog.finished.connect(lambda _r: self.refresh())
        self.dialog = dialog
        dialog.open()
        return dialog

    def open_rename(self) -> WorkstationNameDialog:
        current = getattr(self.workstation, "name", None)
        dialog = WorkstationNameDialog(self.ctx, self.session, current, self)
        dialog.accepted.connect(self._renamed)
        self.name_dialog = dialog
        dialog.open()
        return dialog

    def _renamed(self) -> None:
        saved = self.name_dialog.saved if self.name_dialog is not None else None
        if saved is not None:
            self._show_name(saved)
            if self.status_message is not None:
                self.status_message(self.tr("This workstation is now called %s") % saved.name)

    def open_key_entry(self) -> EnrolmentDialog:
        return self.open_enrolment(key_only=True)

    def issue_key_code(self) -> None:
        sync, who = self.ctx.sync, self.session
        self.key_button.setEnabled(False)
        run_op(self, lambda: sync.issue_clinic_key_code(who), self._key_issued,
               self._key_failed, label=self.tr("Making a clinic key code…"),
               executor=getattr(self.controller, "executor", None))

    def _key_issued(self, code: str) -> None:
        self.key_button.setEnabled(True)
        box = QMessageBox(QMessageBox.Icon.Information, self.tr("Clinic key code"),
                          self.tr("Type this code on the workstation that joins the clinic, "
                                  "in its enrolment window:"), QMessageBox.StandardButton.Ok,
                          self)
        box.setInformativeText(f"<p style='font-size:15pt; font-family:monospace'><b>{code}</b>"
                               "</p>" + self.tr("It is shown only now. A new code replaces it."))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setObjectName("clinicKeyCode")
        self.key_box = box
        box.open()

    def _key_failed(self, error: BaseException) -> None:
        self.key_button.setEnabled(True)
        show_error(self, error)

    def sync_now(self) -> None:
        controller = self.controller
        if controller is not None:
            controller.sync("person", self.session)
            if self.status_message is not None:
                self.status_message(self.tr("Syncing…"))
