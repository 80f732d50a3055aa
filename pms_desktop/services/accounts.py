"""Staff sign-in, unlock, own-account MFA and password, break-glass, the security policy.

``sign_in`` and ``verify_unlock`` are authentication, not authorisation: no one is acting yet
(or the actor is proving who they are), so they are plain methods that log every attempt
themselves, in a transaction that commits *before* a failure is raised (a failed sign-in that
rolled back its own log entry would be invisible). Five failures lock the account for fifteen
minutes (configurable); the lock lives in the database so a restart does not lift it. Whatever
the lockout policy, no more than ``attempts_per_hour`` attempts per account are evaluated in any
hour: the count is taken from the access log inside the attempt's own transaction, so neither a
restart nor two attempts at once get past it. A TOTP code is accepted once: its time step is
stored and older or equal steps are refused.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, fields
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.enums import AuditOutcome, Role
from ..domain.errors import AccountLocked, AuthenticationError, NotFound, ValidationError
from ..domain.permissions import MFA_REQUIRED, Permission, allows
from ..domain.session import StaffSession
from ..security import recovery_codes
from ..security.passwords import hash_password, needs_rehash, password_problems, verify_password
from ..security.totp import matching_step, new_secret, provisioning_uri
from ..store import audit_log
from ..store.models import BreakGlassGrant, Clinic, Patient, Setting, StaffUser
from .accounts_dto import BreakGlassInfo, RecoveryCodes, SecurityPolicy, TotpEnrolment
from .accounts_users import UserAdminMixin, user_info
from .base import ServiceCore, UnitOfWork, operation, unit_of_work
from .dto import StaffUserInfo

POLICY_KEY = "security.policy"
GENERIC_FAILURE = "The user name, password or code is not right."
THROTTLED = "Too many sign-in attempts for this account. Try again later."
ATTEMPT_ACTIONS = ("auth.sign_in", "session.unlock")
MIN_REASON = 10


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown accounts, so that timing does not tell who exists."""
    return hash_password("not-a-real-account-password")


class AccountsService(UserAdminMixin):
    def __init__(self, core: ServiceCore, *, policy: SecurityPolicy | None = None) -> None:
        self.core = core
        self._fixed_policy = policy

    # --- policy ------------------------------------------------------------------------------

    def policy(self) -> SecurityPolicy:
        """The security settings (readable before sign-in: the lock screen needs them)."""
        if self._fixed_policy is not None:
            return self._fixed_policy
        with self.core.sessions() as s:
            return _read_policy(s)

    @operation(Permission.SETTINGS, "settings.security.update")
    def set_policy(self, uow: UnitOfWork, *, max_failures: int, lock_minutes: int,
                   idle_minutes: int) -> SecurityPolicy:
        errors = {}
        if not 3 <= max_failures <= 20:
            errors["max_failures"] = "Between 3 and 20 attempts."
        if not 1 <= lock_minutes <= 24 * 60:
            errors["lock_minutes"] = "Between 1 minute and 24 hours."
        if not 1 <= idle_minutes <= 60:
            errors["idle_minutes"] = "Between 1 and 60 minutes."
        if errors:
            raise ValidationError(errors)
        current = _read_policy(uow.session)
        new = SecurityPolicy(**{**asdict(current), "max_failures": max_failures,
                                "lock_minutes": lock_minutes, "idle_minutes": idle_minutes})
        row = uow.session.get(Setting, POLICY_KEY) or Setting(key=POLICY_KEY, value="")
        row.value = json.dumps(asdict(new))
        uow.session.add(row)
        uow.audit("settings.security.update", detail=asdict(new))
        return new

    # --- sign-in and unlock ------------------------------------------------------------------

    def sign_in(self, *, username: str, password: str, totp_code: str) -> StaffSession:
        """Password, then the TOTP code (or a one-time recovery code). Every attempt is logged."""
        name = username.strip().lower()
        policy = self.policy()
        now = self.core.now()
        error: AuthenticationError | None = None
        session: StaffSession | None = None
        with unit_of_work(self.core, None) as uow:
            s = uow.session
            user = s.scalars(select(StaffUser).where(StaffUser.username == name)).first()
            if _over_budget(uow, name, now, policy):
                _log(uow, name, user, "auth.sign_in", AuditOutcome.REFUSED, {"why": "throttled"})
                error = AuthenticationError(THROTTLED)
            elif user is None or not user.active:
                verify_password(_dummy_hash(), password)
                _log(uow, name, user, "auth.sign_in", AuditOutcome.FAILURE,
                     {"why": "unknown account" if user is None else "account disabled"})
                error = AuthenticationError(GENERIC_FAILURE)
            elif user.locked_until is not None and user.locked_until > now:
                _log(uow, name, user, "auth.sign_in", AuditOutcome.REFUSED, {"why": "locked"})
                error = AccountLocked(user.locked_until)
            else:
                why = self._check(uow, user, password, totp_code, now, require_code=True)
                if why is not None:
                    error = self._fail(uow, user, "auth.sign_in", why, now, policy)
                else:
                    user.last_sign_in_at, user.failed_attempts = now, 0
                    session = StaffSession(
                        user_id=user.id, username=user.username, display_name=user.display_name,
                        role=Role(user.role), workstation_id=self.core.workstation_id,
                        signed_in_at=now, practitioner_id=user.practitioner_id)
                    _log(uow, name, user, "auth.sign_in", AuditOutcome.SUCCESS, None)
        if error is not None:
            raise error
        assert session is not None
        return session

    def verify_unlock(self, session: StaffSession, *, password: str,
                      totp_code: str | None = None) -> None:
        """Prove the signed-in person is back: the password, and the code when one is asked for."""
        policy = self.policy()
        now = self.core.now()
        error: AuthenticationError | None = None
        with unit_of_work(self.core, session) as uow:
            user = uow.session.get(StaffUser, session.user_id)
            if _over_budget(uow, session.username, now, policy):
                uow.audit("session.unlock", outcome=AuditOutcome.REFUSED,
                          detail={"why": "throttled"})
                error = AuthenticationError(THROTTLED)
            elif user is None or not user.active:
                uow.audit("session.unlock", outcome=AuditOutcome.FAILURE,
                          detail={"why": "disabled"})
                error = AuthenticationError("This account is no longer active.")
            elif user.locked_until is not None and user.locked_until > now:
                uow.audit("session.unlock", outcome=AuditOutcome.REFUSED, detail={"why": "locked"})
                error = AccountLocked(user.locked_until)
            else:
                why = self._check(uow, user, password, totp_code or "", now,
                                  require_code=totp_code is not None)
                if why is not None:
                    error = self._fail(uow, user, "session.unlock", why, now, policy)
                else:
                    user.failed_attempts = 0  # failures count in a row, not over the weeks
                    uow.audit("session.unlock", detail={"with_code": totp_code is not None})
        if error is not None:
            raise error

    def _check(self, uow: UnitOfWork, user: StaffUser, password: str, code: str, now: datetime,
               *, require_code: bool) -> str | None:
        """Why the credentials fail, or None (and then the code's step is spent)."""
        if not verify_password(user.password_hash, password):
            return "wrong password"
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        if not (require_code and user.totp_enabled and user.totp_secret):
            return None
        step = matching_step(user.totp_secret, code, now)
        if step is not None:
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return "code already used"
            user.totp_last_step = step
            return None
        rest = recovery_codes.consume(user.recovery_codes, code)
        if rest is not None:
            user.recovery_codes = rest
            uow.changed(user)
            _log(uow, user.username, user, "auth.recovery_code.used", AuditOutcome.SUCCESS,
                 {"remaining": recovery_codes.remaining(rest)})
            return None
        return "wrong code"

    def _fail(self, uow: UnitOfWork, user: StaffUser, action: str, why: str, now: datetime,
              policy: SecurityPolicy) -> AuthenticationError:
        user.failed_attempts = (user.failed_attempts or 0) + 1
        _log(uow, user.username, user, action, AuditOutcome.FAILURE,
             {"why": why, "failures": user.failed_attempts})
        if user.failed_attempts < policy.max_failures:
            return AuthenticationError(GENERIC_FAILURE)
        user.failed_attempts = 0
        user.locked_until = now + timedelta(minutes=policy.lock_minutes)
        _log(uow, user.username, user, "auth.lock", AuditOutcome.SUCCESS,
             {"until": user.locked_until.isoformat(), "minutes": policy.lock_minutes})
        return AccountLocked(user.locked_until)

    # --- the signed-in person's own account -------------------------------------------------
    # Open to a session whose password an admin set (``before_password_change``): the forced
    # first steps (MFA enrolment, then a password of one's own), lock and sign-out. Everything
    # else is refused by ``services.base`` until ``change_password`` clears the flag.

    @operation(None, "session.lock", before_password_change=True)
    def record_lock(self, uow: UnitOfWork, *, reason: str = "idle") -> None:
        """The workstation locked (idle or on request): a fact for the log."""
        uow.audit("session.lock", detail={"reason": reason})

    @operation(None, "session.sign_out", before_password_change=True)
    def sign_out(self, uow: UnitOfWork) -> None:
        uow.audit("session.sign_out")

    @operation(None, "account.read", before_password_change=True)
    def my_account(self, uow: UnitOfWork) -> StaffUserInfo:
        return user_info(self._me(uow))

    def needs_mfa_enrolment(self, info: StaffUserInfo) -> bool:
        return info.role in MFA_REQUIRED and not info.totp_enabled

    @operation(None, "account.password.change", transactional=False,
               before_password_change=True)
    def change_password(self, actor: StaffSession, *, current: str, new: str) -> None:
        """The signed-in person's own password. A wrong current password counts as a failed
        sign-in (logged, and the account locks after the policy's number of failures), so an
        unattended open session cannot be used to guess it; a refused new password is named
        on its field with the policy's reasons."""
        policy, now = self.policy(), self.core.now()
        error: Exception | None = None
        with unit_of_work(self.core, actor) as uow:
            user = self._me(uow)
            if not verify_password(user.password_hash, current):
                failed = self._fail(uow, user, "account.password.change", "wrong password", now,
                                    policy)
                error = failed if isinstance(failed, AccountLocked) else ValidationError(
                    {"current": "This is not your current password."})
            else:
                problems = password_problems(new, username=user.username,
                                             display_name=user.display_name)
                if new == current:
                    problems.insert(0, "Choose a password different from your current one.")
                if problems:
                    error = ValidationError({"new": " ".join(problems)})
                else:
                    user.password_hash = hash_password(new)
                    user.password_changed_at, user.must_change_password = now, False
                    user.failed_attempts = 0
                    uow.changed(user)
                    uow.audit("account.password.change", resource_type="Basic",
                              resource_id=user.id)
        if error is not None:
            raise error

    @operation(None, "account.mfa.begin", before_password_change=True)
    def begin_totp_enrolment(self, uow: UnitOfWork) -> TotpEnrolment:
        """A new secret to scan; MFA stays off until ``confirm_totp_enrolment`` sees one code."""
        user = self._me(uow)
        if user.totp_enabled:
            raise ValidationError(
                {"code": "Two-step sign-in is already on. An admin can reset it."})
        user.totp_secret, user.totp_last_step = new_secret(), None
        clinic = uow.session.scalars(select(Clinic.name)).first() or "Clinic"
        uri = provisioning_uri(user.totp_secret, user.username, issuer=f"{clinic} (PMS)")
        return TotpEnrolment(user.totp_secret, uri, user.username)

    @operation(None, "account.mfa.enable", before_password_change=True)
    def confirm_totp_enrolment(self, uow: UnitOfWork, *, code: str) -> RecoveryCodes:
        user = self._me(uow)
        if user.totp_enabled or not user.totp_secret:
            raise ValidationError({"code": "Start the enrolment first."})
        step = matching_step(user.totp_secret, code, self.core.now())
        if step is None:
            raise ValidationError({"code": "That code is not right. Check the phone's clock."})
        codes, hashes = recovery_codes.issue()
        user.totp_enabled, user.totp_last_step, user.recovery_codes = True, step, hashes
        uow.changed(user)
        uow.audit("account.mfa.enable", resource_type="Basic", resource_id=user.id)
        return RecoveryCodes(tuple(codes))

    def _me(self, uow: UnitOfWork) -> StaffUser:
        assert uow.actor is not None
        user = uow.session.get(StaffUser, uow.actor.user_id)
        if user is None:
            raise NotFound("Your account no longer exists.")
        return user

    # --- break-glass ---------------------------------------------------------------------------

    @operation(Permission.READ_DEMOGRAPHICS, "break_glass.grant", patient_arg="patient_id",
               resource_type="Patient")
    def break_glass(self, uow: UnitOfWork, *, patient_id: str, reason: str) -> BreakGlassInfo:
        """Emergency access to one chart for a role without clinical access: flagged,
        time-limited."""
        actor = uow.actor
        assert actor is not None
        if allows(actor.role, Permission.READ_CLINICAL):
            raise ValidationError({"reason": "Your role can already open clinical records."})
        if len(reason.strip()) < MIN_REASON:
            raise ValidationError(
                {"reason": "Say why you need emergency access (a full sentence)."})
        if uow.session.get(Patient, patient_id) is None:
            raise NotFound("That patient does not exist.")
        now = self.core.now()
        minutes = _read_policy(uow.session).break_glass_minutes
        grant = BreakGlassGrant(user_id=actor.user_id, patient_id=patient_id, reason=reason.strip(),
                                granted_at=now, expires_at=now + timedelta(minutes=minutes))
        uow.session.add(grant)
        uow.session.flush()
        uow.audit("break_glass.grant", resource_type="Patient", resource_id=patient_id,
                  patient_id=patient_id, break_glass=True, reason=grant.reason,
                  detail={"expires_at": grant.expires_at.isoformat()})
        return BreakGlassInfo(grant.id, patient_id, grant.reason, grant.granted_at,
                              grant.expires_at)


def _read_policy(s: Session) -> SecurityPolicy:
    row = s.get(Setting, POLICY_KEY)
    if row is None:
        return SecurityPolicy()
    known = {f.name for f in fields(SecurityPolicy)}
    return SecurityPolicy(**{k: v for k, v in json.loads(row.value).items() if k in known})


def _over_budget(uow: UnitOfWork, name: str, now: datetime, policy: SecurityPolicy) -> bool:
    """Whether this account has used its hourly budget of evaluated attempts."""
    used = audit_log.evaluated_attempts(uow.session, username=name, actions=ATTEMPT_ACTIONS,
                                        since=now - timedelta(hours=1))
    return used >= policy.attempts_per_hour


def _log(uow: UnitOfWork, name: str, user: StaffUser | None, action: str, outcome: AuditOutcome,
         detail: dict[str, object] | None) -> None:
    """An entry for someone not (yet) signed in: named by the user name typed."""
    uow.audited = True
    audit_log.append(
        uow.session, workstation_id=uow.core.workstation_id, at=uow.core.now(),
        user_id=user.id if user else None, username=name[:64],
        role=user.role if user else None, action=action, outcome=outcome.value,
        resource_type="Basic" if user else None, resource_id=user.id if user else None,
        detail=detail,
    )
