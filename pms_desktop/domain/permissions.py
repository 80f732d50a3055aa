"""The one policy table: which role holds which permission.

Every service operation declares the permission it needs (see ``services``); the check is made
there, so a caller that bypasses the UI is refused the same way. Hiding a button is a courtesy.
"""

from __future__ import annotations

from enum import StrEnum

from .enums import Role


class Permission(StrEnum):
    READ_DEMOGRAPHICS = "read_demographics"
    WRITE_DEMOGRAPHICS = "write_demographics"
    READ_CLINICAL = "read_clinical"
    WRITE_CLINICAL = "write_clinical"
    SIGN_NOTES = "sign_notes"
    BILLING = "billing"
    TAKE_PAYMENTS = "take_payments"
    REPORTS = "reports"
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"
    SETTINGS = "settings"
    BACKUPS = "backups"
    SCHEDULE = "schedule"
    # Setting up the book: practitioners' working hours, their leave, appointment types.
    SCHEDULE_SETUP = "schedule_setup"


P = Permission

POLICY: dict[Role, frozenset[Permission]] = {
    Role.RECEPTION: frozenset(
        {P.READ_DEMOGRAPHICS, P.WRITE_DEMOGRAPHICS, P.SCHEDULE, P.TAKE_PAYMENTS}
    ),
    Role.CLINICIAN: frozenset(
        {
            P.READ_DEMOGRAPHICS,
            P.WRITE_DEMOGRAPHICS,
            P.READ_CLINICAL,
            P.WRITE_CLINICAL,
            P.SIGN_NOTES,
            P.SCHEDULE,
        }
    ),
    Role.PRACTICE_MANAGER: frozenset(
        {
            P.READ_DEMOGRAPHICS,
            P.WRITE_DEMOGRAPHICS,
            P.SCHEDULE,
            P.SCHEDULE_SETUP,
            P.BILLING,
            P.TAKE_PAYMENTS,
            P.REPORTS,
        }
    ),
    Role.CLINIC_ADMIN: frozenset(
        {
            P.READ_DEMOGRAPHICS,
            P.WRITE_DEMOGRAPHICS,
            P.SCHEDULE,
            P.SCHEDULE_SETUP,
            P.MANAGE_USERS,
            P.VIEW_AUDIT,
            P.SETTINGS,
            P.BACKUPS,
            P.REPORTS,
        }
    ),
}

# Roles that see patient data must use MFA.
MFA_REQUIRED: frozenset[Role] = frozenset(
    role for role, perms in POLICY.items() if P.READ_DEMOGRAPHICS in perms
)

# What break-glass grants for a limited time to a role that lacks it.
BREAK_GLASS_GRANTS: frozenset[Permission] = frozenset({P.READ_CLINICAL})


def allows(role: Role, permission: Permission) -> bool:
    return permission in POLICY[role]
