"""The screens the main window offers, in navigation order (the shared UI contract).

Each factory is ``"module.path:ClassName"`` built as ``Cls(ctx, session, main_window)``. The main
window imports it lazily and skips a screen whose module does not exist (yet) or that the
signed-in role may not use. ``also`` lists alternative permissions (any one is enough).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.permissions import Permission, allows
from ..domain.session import StaffSession


@dataclass(frozen=True)
class ScreenSpec:
    key: str
    title: str
    permission: Permission | None
    factory: str
    shortcut: str | None = None
    also: tuple[Permission, ...] = ()

    def allowed(self, session: StaffSession) -> bool:
        if self.permission is None:
            return True
        return any(allows(session.role, p) for p in (self.permission, *self.also))


SCREENS: list[ScreenSpec] = [
    ScreenSpec(
        "appointments",
        "Appointments",
        Permission.SCHEDULE,
        "pms_desktop.ui.schedule.appointment_book:AppointmentBook",
        "Ctrl+1",
    ),
    ScreenSpec(
        "waiting_room",
        "Waiting room",
        Permission.SCHEDULE,
        "pms_desktop.ui.schedule.waiting_room:WaitingRoomPanel",
        "Ctrl+2",
    ),
    ScreenSpec(
        "patients",
        "Patients",
        Permission.READ_DEMOGRAPHICS,
        "pms_desktop.ui.patients.patients_screen:PatientsScreen",
        "Ctrl+3",
    ),
    ScreenSpec(
        "billing",
        "Billing",
        Permission.BILLING,
        "pms_desktop.ui.billing.billing_screen:BillingScreen",
        "Ctrl+4",
        also=(Permission.TAKE_PAYMENTS,),
    ),
    ScreenSpec(
        "reports",
        "Reports",
        Permission.REPORTS,
        "pms_desktop.ui.reports.reports_screen:ReportsScreen",
        "Ctrl+5",
    ),
    ScreenSpec(
        "admin",
        "Administration",
        Permission.MANAGE_USERS,
        "pms_desktop.ui.admin.admin_screen:AdminScreen",
        "Ctrl+6",
        also=(Permission.SCHEDULE_SETUP,),  # practice managers: hours, leave, appointment types
    ),
]


def screen(key: str) -> ScreenSpec:
    return next(s for s in SCREENS if s.key == key)
