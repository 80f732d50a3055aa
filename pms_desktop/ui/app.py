"""``run_gui(data_dir)``: the workstation's start-up and session life cycle.

Opens the encrypted clinic (keyring key; else the recovery secret, saying clearly when no
keyring works at all), or runs the first-run wizard when the folder holds no clinic yet (a new
clinic, or a computer joining the clinic's existing setup), then
hands over to the ``SessionController`` (sign-in, main window, idle lock, switch user).
Nothing shows patient data before a sign-in.
"""

from __future__ import annotations

import importlib
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
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
from .auth.session_controller import SessionController
from .gui_gc import GuiThreadCollector
from .ops import run_op
from .theme import apply_theme

if TYPE_CHECKING:
    from .auth.first_run_wizard import FirstRunWizard
    from .backup_scheduler import BackupScheduler
    from .sync.sync_controller import SyncController

log = logging.getLogger(__name__)

# What the sign-in window does not need, imported on a thread of its own once it is shown (while
# the person types): the services' modules (billing's PDF layouts, sync's HTTP client) and what
# a signed-in session uses first. No Qt module: widgets are made on the GUI thread only.
WARM_UP_MODULES = (
    "pms_desktop.services.sync_service",
    "pms_desktop.services.backups",
    "pms_desktop.services.patients",
    "pms_desktop.services.scheduling",
    "pms_desktop.services.clinical",
    "pms_desktop.services.billing",
    "pms_desktop.services.payments",
    "pms_desktop.services.reports",
    "pms_desktop.services.audit_service",
    "pms_desktop.services.workstation_names",
)


def open_clinic_interactively(data_dir: Path) -> Any:
    """The open ClinicDatabase, asking for the recovery secret when needed; None if cancelled."""
    from .auth.recovery_dialog import RecoveryDialog  # only without the key in the keyring

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
    """The daily backup of the settings runs in the background; its outcome goes to the status
    bar."""
    from .backup_scheduler import BackupScheduler

    scheduler = BackupScheduler(ctx, controller)

    def status(text: str) -> None:
        window = getattr(controller, "main_window", None)
        if window is not None and hasattr(window, "show_status"):
            window.show_status(text)

    scheduler.backup_made.connect(
        lambda path: status(f"Scheduled backup written: {Path(path).name}"))
    scheduler.backup_failed.connect(lambda text: status(f"Scheduled backup failed: {text}"))
    return scheduler


def start_sync_controller(ctx: Any, controller: SessionController) -> SyncController:
    """Background sync for as long as the clinic is open (it acts as the device, signed in or
    not); each new main window shows its state in the status bar, one open already too."""
    from .sync.sync_controller import SyncController

    sync = SyncController(ctx)

    def attach(_session: Any) -> None:
        window = getattr(controller, "main_window", None)
        if window is not None and hasattr(window, "set_sync_controller"):
            window.set_sync_controller(sync)

    controller.signed_in.connect(attach)
    attach(None)
    sync.start()
    return sync


def warm_up() -> None:
    """Import ``WARM_UP_MODULES`` (on a thread of its own: see ``Background``)."""
    for name in WARM_UP_MODULES:
        importlib.import_module(name)


class Background:
    """The scheduled backup and the background sync, started once the sign-in window is shown.

    Neither is needed to sign in (the first sync is due seconds after start, the first backup
    check a minute after): their modules are imported first on a thread of their own, so that
    neither the window's first paint nor what the person types waits for them, then both are
    started on the GUI thread. ``start_now`` starts them at once (the first-run wizard's path).
    """

    def __init__(self, ctx: Any, controller: SessionController) -> None:
        self.ctx, self.controller = ctx, controller
        self.scheduler: BackupScheduler | None = None
        self.sync: SyncController | None = None
        self._closed = False
        self._pool: ThreadPoolExecutor | None = None

    def start_after_paint(self, window: Any) -> None:
        startup_probe.after_first_paint(window, self._warm_up, at_latest_ms=3000)

    def _warm_up(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pms-warm-up")
        run_op(None, warm_up, lambda _: self.start_now(), self._warm_up_failed,
               executor=self._pool)

    def _warm_up_failed(self, error: BaseException) -> None:
        # A module that cannot be imported fails again where it is used, with its own message.
        log.warning("importing ahead failed: %s", type(error).__name__)
        self.start_now()

    def start_now(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        if self._closed or self.sync is not None:
            return
        self.scheduler = start_backup_scheduler(self.ctx, self.controller)
        self.sync = start_sync_controller(self.ctx, self.controller)

    def stop(self) -> None:
        self._closed = True
        if self.scheduler is not None:
            self.scheduler.timer.stop()
        if self.sync is not None:
            self.sync.shutdown(timeout_s=15)


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
            dialog = None
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
        background = Background(ctx, controller)
        if dialog is None:
            background.start_now()
        else:
            background.start_after_paint(dialog)
            if startup_probe.enabled():  # installed last: it sees the first paint first
                startup_probe.quit_when_painted(dialog)
        try:
            return int(app.exec())
        finally:
            background.stop()
            ctx.close()
    finally:
        lock.release()
