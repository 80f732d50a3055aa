"""Managing staff accounts (clinic admins: MANAGE_USERS): create, edit, role, disable, resets.

A mixin of ``AccountsService``. Every change is a synced ``StaffUser`` change (outbox) and an
access-log entry naming the account and what changed (never the password).
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..domain.enums import Role
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.permissions import Permission
from ..security.passwords import hash_password, password_problems
from ..store.models import Clinic, Practitioner, StaffUser
from .base import ServiceCore, UnitOfWork, operation
from .dto import StaffUserInfo


def user_info(u: StaffUser) -> StaffUserInfo:
    return StaffUserInfo(u.id, u.username, u.display_name, Role(u.role), bool(u.active),
                         bool(u.totp_enabled), u.practitioner_id, u.locked_until,
                         bool(u.must_change_password))


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError({"role": "Choose one of the roles."}) from None


class UserAdminMixin:
    core: ServiceCore

    # --- helpers -----------------------------------------------------------------------------

    def _user(self, uow: UnitOfWork, user_id: str) -> StaffUser:
        user = uow.session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("That staff account does not exist.")
        return user

    def _log_user(self, uow: UnitOfWork, action: str, user: StaffUser, **detail: object) -> None:
        uow.changed(user)
        uow.audit(action, resource_type="Basic", resource_id=user.id,
                  detail={"username": user.username, **detail})

    def _keep_an_admin(self, uow: UnitOfWork, user: StaffUser) -> None:
        """Refuse to leave the clinic without an active clinic admin."""
        if user.role != Role.CLINIC_ADMIN.value or not user.active:
            return
        admins = uow.session.scalar(select(func.count()).select_from(StaffUser).where(
            StaffUser.role == Role.CLINIC_ADMIN.value, StaffUser.active.is_(True)))
        if (admins or 0) <= 1:
            raise ConflictError("This is the last active clinic admin: make another one first.")

    # --- operations ----------------------------------------------------------------------------

    @operation(Permission.MANAGE_USERS, "user.list")
    def list_users(self, uow: UnitOfWork) -> tuple[StaffUserInfo, ...]:
        rows = uow.session.scalars(select(StaffUser).order_by(StaffUser.display_name))
        return tuple(user_info(u) for u in rows)

    @operation(Permission.MANAGE_USERS, "user.create", resource_type="Basic")
    def create_user(self, uow: UnitOfWork, *, username: str, display_name: str, role: Role | str,
                    password: str, practitioner_id: str | None = None) -> StaffUserInfo:
        name = username.strip().lower()
        errors: dict[str, str] = {}
        if not name or not name.isidentifier():
            errors["username"] = "Use letters, digits and underscores, starting with a letter."
        elif uow.session.scalar(select(StaffUser.id).where(StaffUser.username == name)):
            errors["username"] = "This user name is taken."
        if not display_name.strip():
            errors["display_name"] = "Enter the person's full name."
        try:
            new_role = _role(role)
        except ValidationError as e:
            errors.update(e.field_errors)
        problems = password_problems(password, username=name, display_name=display_name)
        if problems:
            errors["password"] = " ".join(problems)
        if practitioner_id and uow.session.get(Practitioner, practitioner_id) is None:
            errors["practitioner_id"] = "Choose a practitioner from the list."
        if errors:
            raise ValidationError(errors)
        clinic_id = uow.session.scalars(select(Clinic.id)).one()
        user = StaffUser(clinic_id=clinic_id, username=name, display_name=display_name.strip(),
                         role=new_role.value, practitioner_id=practitioner_id,
                         password_hash=hash_password(password), password_changed_at=self.core.now(),
                         must_change_password=True, totp_enabled=False, failed_attempts=0)
        uow.session.add(user)
        uow.session.flush()
        self._log_user(uow, "user.create", user, role=new_role.value)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.update", resource_type="Basic")
    def update_user(self, uow: UnitOfWork, *, user_id: str, display_name: str | None = None,
                    practitioner_id: str | None = None) -> StaffUserInfo:
        user = self._user(uow, user_id)
        if display_name is not None:
            if not display_name.strip():
                raise ValidationError({"display_name": "Enter the person's full name."})
            user.display_name = display_name.strip()
        if practitioner_id is not None:
            if practitioner_id and uow.session.get(Practitioner, practitioner_id) is None:
                raise ValidationError({"practitioner_id": "Choose a practitioner from the list."})
            user.practitioner_id = practitioner_id or None
        self._log_user(uow, "user.update", user)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.role.change", resource_type="Basic")
    def set_role(self, uow: UnitOfWork, *, user_id: str, role: Role | str) -> StaffUserInfo:
        user = self._user(uow, user_id)
        new_role = _role(role)
        if new_role.value != user.role:
            self._keep_an_admin(uow, user)
            old, user.role = user.role, new_role.value
            self._log_user(uow, "user.role.change", user, old_role=old, new_role=new_role.value)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.disable", resource_type="Basic")
    def disable(self, uow: UnitOfWork, *, user_id: str) -> StaffUserInfo:
        user = self._user(uow, user_id)
        if uow.actor and uow.actor.user_id == user.id:
            raise ConflictError("You cannot disable your own account.")
        self._keep_an_admin(uow, user)
        user.active = False
        self._log_user(uow, "user.disable", user)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.enable", resource_type="Basic")
    def enable(self, uow: UnitOfWork, *, user_id: str) -> StaffUserInfo:
        user = self._user(uow, user_id)
        user.active = True
        self._log_user(uow, "user.enable", user)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.password.reset", resource_type="Basic")
    def reset_password(self, uow: UnitOfWork, *, user_id: str, new_password: str) -> StaffUserInfo:
        user = self._user(uow, user_id)
        problems = password_problems(new_password, username=user.username,
                                     display_name=user.display_name)
        if problems:
            raise ValidationError({"new_password": " ".join(problems)})
        user.password_hash = hash_password(new_password)
        user.password_changed_at = self.core.now()
        user.must_change_password = True
        user.failed_attempts, user.locked_until = 0, None
        self._log_user(uow, "user.password.reset", user)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.mfa.reset", resource_type="Basic")
    def reset_mfa(self, uow: UnitOfWork, *, user_id: str) -> StaffUserInfo:
        """Switch MFA off so the person enrols again at the next sign-in (a lost phone)."""
        user = self._user(uow, user_id)
        user.totp_enabled, user.totp_secret, user.recovery_codes = False, None, None
        user.totp_last_step = None
        self._log_user(uow, "user.mfa.reset", user)
        return user_info(user)

    @operation(Permission.MANAGE_USERS, "user.unlock", resource_type="Basic")
    def unlock_user(self, uow: UnitOfWork, *, user_id: str) -> StaffUserInfo:
        user = self._user(uow, user_id)
        user.failed_attempts, user.locked_until = 0, None
        uow.audit("user.unlock", resource_type="Basic", resource_id=user.id,
                  detail={"username": user.username})
        return user_info(user)
