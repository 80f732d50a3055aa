"""The main window: navigation for what the role may use, the patient banner, the status bar.

Built as ``MainWindow(ctx, session)`` by ``ui/app.py`` (which owns sign-in, locking and the
session life cycle and listens to ``sign_out_requested``, ``lock_requested`` and
``switch_user_requested``). Screens come from ``screens.SCREENS`` and are imported lazily; a
screen that does not exist yet, or that the role may not use, is simply not offered.
``set_locked(True)`` hides every patient datum behind a blank page.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..domain.session import StaffSession
from .ops import run_op
from .screens import SCREENS, ScreenSpec
from .widgets.patient_banner import PatientBanner
from .widgets.screen_fit import resize_to_fit
from .widgets.settings import app_settings

log = logging.getLogger(__name__)
ROLE_NAMES = {
    "reception": "Reception",
    "clinician": "Clinician",
    "practice_manager": "Practice manager",
    "clinic_admin": "Clinic admin",
}


class MainWindow(QMainWindow):
    sign_out_requested = Signal()
    lock_requested = Signal()
    switch_user_requested = Signal()
    patient_opened = Signal(str)

    def __init__(self, ctx: Any, session: StaffSession) -> None:
        super().__init__()
        self.ctx, self.session = ctx, session
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Clinic"))
        self.screens: dict[str, QWidget] = {}
        self.specs: list[ScreenSpec] = []
        self.patient_id: str | None = None
        self.patient_file: Any = None  # the PatientFile, made at the first open
        self.sync_controller: Any = None
        self.sync_status: Any = None
        self._build()
        self._build_status_bar()
        self._shortcuts()
        self._restore_layout()
        run_op(self, lambda: ctx.setup.clinic(), self._clinic_loaded, lambda e: None)

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        self.brand = QLabel(self.tr("Clinic"))
        self.brand.setObjectName("brand")
        self.brand.setWordWrap(True)
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName(self.tr("Navigation"))
        self.pages = QStackedWidget()
        for spec in SCREENS:
            widget = self._make_screen(spec)
            if widget is None:
                continue
            self.specs.append(spec)
            self.screens[spec.key] = widget
            self.pages.addWidget(widget)
            item = QListWidgetItem(self.tr(spec.title))
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setToolTip(f"{spec.title} ({spec.shortcut})" if spec.shortcut else spec.title)
            self.nav.addItem(item)
        self.patient_item = QListWidgetItem()
        self.patient_item.setData(Qt.ItemDataRole.UserRole, "patient")
        self.nav.currentItemChanged.connect(self._nav_changed)
        self.user_button = QToolButton()
        self.user_button.setObjectName("userButton")
        self.user_button.setText(f"{self.session.display_name}  ▾")
        self.user_button.setAccessibleName(self.tr("Account menu"))
        self.user_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.user_button.setStyleSheet(
            "QToolButton { color: #d6e2ee; padding: 10px 14px; border: none; }"
            " QToolButton::menu-indicator { image: none; }"
        )
        menu = QMenu(self.user_button)
        menu.addAction(self.tr("Lock screen"), QKeySequence("Ctrl+L"), self.lock_requested.emit)
        menu.addAction(self.tr("Switch user"), self.switch_user_requested.emit)
        self.change_password_action = menu.addAction(self.tr("Change password…"),
                                                     self.change_password)
        menu.addSeparator()
        menu.addAction(self.tr("Sign out"), self.sign_out_requested.emit)
        self.user_button.setMenu(menu)
        rail = QWidget()
        rail.setObjectName("rail")
        rail.setStyleSheet("QWidget#rail { background: #17324a; }")
        rail.setFixedWidth(210)
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(0, 0, 0, 0)
        rail_layout.setSpacing(0)
        rail_layout.addWidget(self.brand)
        rail_layout.addWidget(self.nav, 1)
        rail_layout.addWidget(self.user_button)
        self.banner = PatientBanner()
        self.banner.set_data(None)
        self.banner.closed.connect(self.close_patient)
        work = QWidget()
        work_layout = QVBoxLayout(work)
        work_layout.setContentsMargins(10, 10, 10, 0)
        work_layout.setSpacing(8)
        work_layout.addWidget(self.banner)
        work_layout.addWidget(self.pages, 1)
        content = QWidget()
        row = QHBoxLayout(content)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(rail)
        row.addWidget(work, 1)
        self.locked_page = QLabel(self.tr("Locked"))
        self.locked_page.setObjectName("lockedPage")
        self.locked_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.root = QStackedWidget()
        self.root.addWidget(content)
        self.root.addWidget(self.locked_page)
        self.setCentralWidget(self.root)
        if self.nav.count():
            self.nav.setCurrentRow(0)

    def _make_screen(self, spec: ScreenSpec) -> QWidget | None:
        if not spec.allowed(self.session):
            return None
        module_name, _, cls_name = spec.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                return None  # that screen is not built yet
            raise
        widget: QWidget = getattr(module, cls_name)(self.ctx, self.session, self)
        if spec.key == "waiting_room" and hasattr(widget, "consultation_requested"):
            widget.consultation_requested.connect(self.start_consultation)
        return widget

    def _build_status_bar(self) -> None:
        role = ROLE_NAMES.get(self.session.role.value, self.session.role.value)
        self.user_label = QLabel(self.tr("Signed in: %s (%s)") % (self.session.display_name, role))
        self.sync_label = QLabel(self.tr("Sync: not connected"))
        self.sync_label.setObjectName("syncState")
        self.statusBar().addPermanentWidget(self.sync_label)
        self.statusBar().addPermanentWidget(self.user_label)

    def _shortcuts(self) -> None:
        def add(keys: str, fn: Any) -> None:
            QShortcut(QKeySequence(keys), self, fn, context=Qt.ShortcutContext.ApplicationShortcut)

        add("Ctrl+F", self.find_patient)
        add("Ctrl+N", self.new_appointment)
        add("F5", self.check_in)
        add("Ctrl+I", self.check_in)
        add("Ctrl+W", self.close_patient)
        add("Ctrl+L", self.lock_requested.emit)
        for spec in self.specs:
            if spec.shortcut:
                add(spec.shortcut, lambda key=spec.key: self.show_screen(key))

    def _clinic_loaded(self, clinic: Any) -> None:
        if clinic is not None:
            self.brand.setText(clinic.name)
            self.setWindowTitle(f"{clinic.name} — {self.tr('Clinic')}")

    # --- navigation ------------------------------------------------------------------------

    def _nav_changed(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        if item is None:
            return
        key = item.data(Qt.ItemDataRole.UserRole)
        page = self.patient_file if key == "patient" else self.screens.get(key)
        if page is not None:
            self.pages.setCurrentWidget(page)

    def show_screen(self, key: str) -> QWidget | None:
        for row in range(self.nav.count()):
            if self.nav.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.nav.setCurrentRow(row)
                return self.screens.get(key) if key != "patient" else self.patient_file
        return None

    def current_screen(self) -> QWidget:
        return self.pages.currentWidget()

    def find_patient(self) -> None:
        screen = self.show_screen("patients")
        if screen is not None and hasattr(screen, "focus_search"):
            screen.focus_search()

    def new_appointment(self) -> None:
        book = self.show_screen("appointments")
        if book is not None and hasattr(book, "new_appointment"):
            book.new_appointment(patient_id=self.patient_id)

    def check_in(self) -> None:
        book = self.screens.get("appointments")
        if book is not None and hasattr(book, "check_in_selected"):
            if self.pages.currentWidget() is not book:
                self.show_screen("appointments")
            book.check_in_selected()

    # --- the open patient ------------------------------------------------------------------

    def open_patient(self, patient_id: str, tab: str | None = None) -> None:
        from .patients.patient_file import PatientFile

        if self.patient_file is None:
            self.patient_file = PatientFile(self.ctx, self.session, patient_id, self)
            self.patient_file.banner_loaded.connect(self._banner_loaded)
            self.pages.addWidget(self.patient_file)
        elif self.patient_file.patient_id != patient_id:
            # The same widgets show the next patient (building them again cost more than the
            # budget for opening a chart); nothing of the previous one may stay on screen,
            # above all not the banner that says whose file this is.
            self.banner.clear()
            self.patient_file.set_patient(patient_id, tab)
        self.patient_id = patient_id
        if self.nav.row(self.patient_item) < 0:
            self.nav.addItem(self.patient_item)
        self.patient_item.setText(self.tr("Patient file"))
        self.nav.setCurrentItem(self.patient_item)
        self.pages.setCurrentWidget(self.patient_file)
        if tab:
            self.patient_file.show_tab(tab)
        self.patient_opened.emit(patient_id)

    def _banner_loaded(self, data: Any) -> None:
        self.banner.set_data(data)
        if data is not None:
            first = data.name.split(" ")[-1]
            self.patient_item.setText(
                f"{first.upper()}, {data.name.split(' ')[0]}" if " " in data.name else data.name
            )

    def close_patient(self) -> None:
        if self.patient_file is None:
            return
        self.banner.set_data(None)
        self.nav.takeItem(self.nav.row(self.patient_item))
        self.pages.removeWidget(self.patient_file)
        self.patient_file.deleteLater()
        self.patient_file, self.patient_id = None, None
        self.show_screen("patients") or self.nav.setCurrentRow(0)

    def refresh_patient(self) -> None:
        if self.patient_file is not None and hasattr(self.patient_file, "reload"):
            self.patient_file.reload()

    def start_consultation(self, appointment_id: str, patient_id: str) -> None:
        clinical = self.ctx.services.get("clinical")
        if clinical is None:
            self.open_patient(patient_id)
            return
        run_op(
            self,
            lambda: clinical.start_encounter(self.session, appointment_id=appointment_id),
            lambda _info: self.open_patient(patient_id, tab="clinical"),
            label=self.tr("Starting…"),
        )

    # --- lock, status, layout ---------------------------------------------------------------

    def set_locked(self, locked: bool) -> None:
        self.root.setCurrentIndex(1 if locked else 0)
        self.banner.setVisible(not locked and self.banner.data is not None)
        if self.sync_status is not None:
            self.sync_status.set_locked(locked)

    def is_locked(self) -> bool:
        return self.root.currentIndex() == 1

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def change_password(self) -> None:
        from .auth.change_password_dialog import ChangePasswordDialog

        dialog = ChangePasswordDialog(self.ctx, self.session, self)
        dialog.accepted.connect(lambda: self.show_status(self.tr("Your password was changed.")))
        # Too many wrong current passwords lock the account: the session ends with it.
        dialog.rejected.connect(lambda: dialog.locked_out and self.sign_out_requested.emit())
        self.password_dialog = dialog
        dialog.open()

    def set_sync_state(self, text: str) -> None:
        self.sync_label.setText(text)

    def set_sync_controller(self, controller: Any) -> None:
        """The application's background sync: its state replaces the plain sync label."""
        from .sync.sync_status_widget import SyncStatusWidget

        self.sync_controller = controller
        self.sync_status = SyncStatusWidget(controller, self.ctx, self.session, self)
        self.statusBar().removeWidget(self.sync_label)
        self.sync_label.hide()
        self.statusBar().insertPermanentWidget(0, self.sync_status)
        self.sync_status.set_locked(self.is_locked())
        controller.refresh_status()

    def _restore_layout(self) -> None:
        s = app_settings()
        geometry = s.value("main_window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            resize_to_fit(self, 1360, 860)
        state = s.value("main_window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        s = app_settings()
        s.setValue("main_window/geometry", self.saveGeometry())
        s.setValue("main_window/state", self.saveState())
        for widget in self.screens.values():
            if hasattr(widget, "save_settings"):
                widget.save_settings()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        super().closeEvent(event)
