"""Plain results of the accounts and audit services (frozen dataclasses, never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SecurityPolicy:
    """Per-workstation security settings (``setting`` table, key ``security.policy``)."""

    max_failures: int = 5
    lock_minutes: int = 15
    idle_minutes: int = 5
    unlock_code_after_minutes: int = 60
    attempts_per_hour: int = 100
    break_glass_minutes: int = 30


@dataclass(frozen=True)
class TotpEnrolment:
    """What the enrolment screen shows: the secret as text and as a QR code of ``uri``."""

    secret: str
    uri: str
    account: str


@dataclass(frozen=True)
class RecoveryCodes:
    """Shown once after MFA is switched on; only their hashes are kept."""

    codes: tuple[str, ...]


@dataclass(frozen=True)
class BreakGlassInfo:
    id: str
    patient_id: str
    reason: str
    granted_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntryInfo:
    seq: int
    at: datetime
    username: str | None
    role: str | None
    action: str
    outcome: str
    resource_type: str | None
    resource_id: str | None
    patient_id: str | None
    break_glass: bool
    reason: str | None
    workstation_id: str
    detail: str | None
    workstation_name: str | None = None  # as the workstation is called now (None: unknown)


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntryInfo, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class ChainCheck:
    """The verifier's verdict: intact, or the first bad entry and why."""

    count: int
    intact: bool
    first_bad_seq: int | None
    problem: str | None
