"""``run_gui(data_dir)``: the workstation's start-up and session life cycle.

Opens the encrypted clinic (keyring key; else the recovery secret, saying clearly when no
keyring works at all), or runs the first-run wizard when the folder holds no clinic yet (a new
clinic, or a computer joining the clinic's existing setup), then
hands over to the ``SessionController`` (sign-in, main window, idle lock, switch user).
Nothing shows patient data before a sign-in.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QApplication, QMessageBox

from ..context import build_context
from ..domain.errors import KeyringUnavailable, UserError
from ..services.accounts_startup import (
    RecoveryNeeded,
    database_exists,
    hold_data_dir,
    open_database,
)
from . import startup_probe
from .auth.recovery_dialog import RecoveryDialog
from .auth.session_controller import SessionController
from .backup_scheduler import BackupScheduler
from .gui_gc import GuiThreadCollector
from .sync.sync_controller import SyncController
from .theme import apply_theme

if TYPE_CHECKING:
    from .auth.first_run_wizard import FirstRunWizard


def open_clinic_interactively(data_dir: Path) -> Any:
    """The open ClinicDatabase, asking for the recovery secret when needed; None if cancelled."""
    try:
        return open_database(data_dir)
    except RecoveryNeeded:
        dialog = RecoveryDialog(data_dir)
    except KeyringUnavailable:
        dialog = RecoveryDialog(data_dir, keyring_missing=True)
    return dialog.db if dialog.exec() else None


def start_controller(ctx: Any, *, idle_ms: int | None = None) -> SessionController:
    clinic = ctx.setup.clinic()
    controller = SessionController(ctx, idle_ms=idle_ms, clinic_name=clinic.name if clinic else "",
                                   timezone=clinic.timezone if clinic else None)
    controller.quit_requested.connect(QApplication.quit)
    return controller


def start_after_first_run(wizard: FirstRunWizard, *,
                          idle_ms: int | None = None) -> SessionController:
    """After the first-run wizard: a new clinic's admin is signed in already; on a computer that
    joined the clinic, its staff (who came with the first sync) sign in."""
    controller = start_controller(wizard.ctx, idle_ms=idle_ms)
    if wizard.session is not None:
        controller.start_session(wizard.session)
    else:
        controller.show_sign_in()
    return controller


def start_backup_scheduler(ctx: Any, controller: SessionController) -> BackupScheduler:
    """The daily backup of the settings runs in the background; its outcome goes to the status bar."""
    scheduler = BackupScheduler(ctx, controller)

    def status(text: str) -> None:
        window = getattr(controller, "main_window", None)
        if window is not None and hasattr(window, "show_status"):
            window.show_status(text)

    scheduler.backup_made.connect(lambda path: status(f"Scheduled backup written: {Path(path).name}"))
    scheduler.backup_failed.connect(lambda text: status(f"Scheduled backup failed: {text}"))
    return scheduler


def start_sync_controller(ctx: Any, controller: SessionController) -> SyncController:
    """Background sync for as long as the clinic is open (it acts as the device, signed in or
    not); each new main window shows its state in the status bar."""
    sync = SyncController(ctx)

    def attach(_session: Any) -> None:
        window = getattr(controller, "main_window", None)
        if window is not None and hasattr(window, "set_sync_controller"):
            window.set_sync_controller(sync)

    controller.signed_in.connect(attach)
    sync.start()
    return sync


def run_gui(data_dir: Path, *, idle_ms: int | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Clinic PMS")
    GuiThreadCollector(app)  # garbage collected on this thread only (see gui_gc.py)
    apply_theme(app)  # type: ignore[arg-type]
    data_dir = Path(data_dir)
    try:
        lock = hold_data_dir(data_dir)
    except UserError as e:
        QMessageBox.warning(None, "Clinic", str(e))
        return 1
    try:
        if not database_exists(data_dir):
            from .auth.first_run_wizard import FirstRunWizard  # once in a workstation's life

            wizard = FirstRunWizard(data_dir)
            if not wizard.exec() or wizard.ctx is None:
                return 0
            ctx = wizard.ctx
            controller = start_after_first_run(wizard, idle_ms=idle_ms)
        else:
            try:
                db = open_clinic_interactively(data_dir)
            except UserError as e:
                QMessageBox.warning(None, "Clinic", str(e))
                return 1
            if db is None:
                return 0
            ctx = build_context(db)
            controller = start_controller(ctx, idle_ms=idle_ms)
            dialog = controller.show_sign_in()
            if startup_probe.enabled():
                startup_probe.quit_when_painted(dialog)
        scheduler = start_backup_scheduler(ctx, controller)
        sync = start_sync_controller(ctx, controller)
        try:
            return int(app.exec())
        finally:
            scheduler.timer.stop()
            sync.shutdown(timeout_s=15)
            ctx.close()
    finally:
        lock.release()
