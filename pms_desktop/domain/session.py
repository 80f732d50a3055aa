"""The acting staff member: the first argument of every service call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .enums import Role
from .ids import new_id


@dataclass(frozen=True)
class StaffSession:
    user_id: str
    username: str
    display_name: str
    role: Role
    workstation_id: str
    signed_in_at: datetime
    practitioner_id: str | None = None
    session_id: str = field(default_factory=new_id)


SYSTEM_USER = "system"
