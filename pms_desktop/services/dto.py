"""Plain frozen dataclasses that services hand back (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.enums import Role


@dataclass(frozen=True)
class ClinicInfo:
    id: str
    name: str
    timezone: str
    currency: str
    locale: str


@dataclass(frozen=True)
class StaffUserInfo:
    id: str
    username: str
    display_name: str
    role: Role
    active: bool
    totp_enabled: bool
    practitioner_id: str | None
    locked_until: datetime | None
    # Set for a new account and after an admin reset: the person chooses their own at sign-in.
    must_change_password: bool = False
