"""AdminScreen: the clinic's administration tabs (users, access log, security, backups, sync,
hours and leave, appointment types), each shown to the roles whose permission it needs."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from ...domain.permissions import Permission, allows
from ...domain.session import StaffSession
from ..sync.sync_tab import SyncTab
from .appointment_types_tab import AppointmentTypesTab
from .audit_tab import AuditTab
from .backups_tab import BackupsTab
from .schedule_tab import ScheduleTab
from .security_tab import SecurityTab
from .users_tab import UsersTab


class AdminScreen(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window = ctx, session, main_window
        self.setObjectName("adminScreen")
        status = getattr(main_window, "show_status", None)
        title = QLabel(self.tr("Administration"))
        title.setObjectName("screenTitle")
        self.tabs = QTabWidget()
        role = session.role
        clinic = ctx.setup.clinic()
        zone = clinic.timezone if clinic else "UTC"
        self.users = (UsersTab(ctx, session, status)
                      if allows(role, Permission.MANAGE_USERS) else None)
        self.audit = (AuditTab(ctx, session, status, zone)
                      if allows(role, Permission.VIEW_AUDIT) else None)
        self.security = (SecurityTab(ctx, session, status)
                         if allows(role, Permission.SETTINGS) else None)
        self.backups = (BackupsTab(ctx, session, status, zone)
                        if allows(role, Permission.BACKUPS) else None)
        self.sync = (SyncTab(ctx, session, main_window, status)
                     if allows(role, Permission.SETTINGS) and "sync" in getattr(ctx, "services", {})
                     else None)
        setup = allows(role, Permission.SCHEDULE_SETUP)
        self.schedule = ScheduleTab(ctx, session, status, zone) if setup else None
        self.types = AppointmentTypesTab(ctx, session, status) if setup else None
        for tab, text in ((self.users, self.tr("Users")), (self.audit, self.tr("Audit log")),
                          (self.schedule, self.tr("Hours && leave")),
                          (self.types, self.tr("Appointment types")),
                          (self.security, self.tr("Security")), (self.backups, self.tr("Backups")),
                          (self.sync, self.tr("Sync"))):
            if tab is not None:
                self.tabs.addTab(tab, text)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.tabs)
