"""First start of a new clinic: the clinic, this workstation and its first admin.

Runs once, with no one signed in (there is no one yet); refuses when a clinic exists.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from sqlalchemy import func, select

from ..domain.enums import AuditOutcome, Role
from ..domain.errors import ConflictError, ValidationError
from ..security.passwords import hash_password, password_problems
from ..security.totp import new_secret
from ..store.models import Clinic, NumberSeries, StaffUser, Workstation
from .base import ServiceCore, unit_of_work
from .dto import ClinicInfo

SERIES_KINDS = ("invoice", "credit_note", "receipt")


def new_series_code() -> str:
    """Random short code for this workstation's number series (collision odds ~1 in 10^6)."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(4))


@dataclass(frozen=True)
class SetupResult:
    clinic: ClinicInfo
    admin_user_id: str
    admin_totp_secret: str
    workstation_id: str


class ClinicSetupService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def has_clinic(self) -> bool:
        with self.core.sessions() as s:
            return bool(s.scalar(select(func.count()).select_from(Clinic)))

    def clinic(self) -> ClinicInfo | None:
        with self.core.sessions() as s:
            c = s.scalars(select(Clinic)).first()
            return _info(c) if c else None

    def create_clinic(
        self,
        *,
        clinic_name: str,
        workstation_name: str,
        admin_username: str,
        admin_display_name: str,
        admin_password: str,
        timezone: str = "UTC",
        currency: str = "EUR",
        locale: str = "en_GB",
    ) -> SetupResult:
        errors: dict[str, str] = {}
        if not clinic_name.strip():
            errors["clinic_name"] = "Enter the clinic's name."
        if not admin_username.strip() or not admin_username.isidentifier():
            errors["admin_username"] = (
                "Use letters, digits and underscores, starting with a letter.")
        if not admin_display_name.strip():
            errors["admin_display_name"] = "Enter the administrator's full name."
        problems = password_problems(admin_password, username=admin_username,
                                     display_name=admin_display_name)
        if problems:
            errors["admin_password"] = " ".join(problems)
        if errors:
            raise ValidationError(errors)
        totp_secret = new_secret()
        with unit_of_work(self.core, None) as uow:
            s = uow.session
            if s.scalar(select(func.count()).select_from(Clinic)):
                raise ConflictError("This database already has a clinic.")
            clinic = Clinic(name=clinic_name.strip(), timezone=timezone, currency=currency,
                            locale=locale)
            s.add(clinic)
            s.flush()
            ws = Workstation(
                clinic_id=clinic.id, name=workstation_name.strip() or "Workstation",
                series_code=new_series_code(), is_local=True, created_at=self.core.now(),
            )
            s.add(ws)
            for kind in SERIES_KINDS:
                s.add(NumberSeries(kind=kind, series_code=ws.series_code, next_value=1))
            admin = StaffUser(
                clinic_id=clinic.id, username=admin_username.strip().lower(),
                display_name=admin_display_name.strip(), role=Role.CLINIC_ADMIN.value,
                password_hash=hash_password(admin_password), password_changed_at=self.core.now(),
                totp_secret=totp_secret, totp_enabled=False,
            )
            s.add(admin)
            s.flush()
            self.core.workstation_id = ws.id
            uow.changed(clinic)
            uow.changed(ws)  # the clinic's other workstations learn its series code
            uow.changed(admin)
            uow.audit("clinic.create", outcome=AuditOutcome.SUCCESS, resource_type="Organization",
                      resource_id=clinic.id, detail={"admin": admin.username})
            return SetupResult(_info(clinic), admin.id, totp_secret, ws.id)


def _info(c: Clinic) -> ClinicInfo:
    return ClinicInfo(c.id, c.name, c.timezone, c.currency, c.locale)
