"""Sign-in, lockout, TOTP replay, recovery codes, MFA enrolment and break-glass, on a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from pms_desktop.context import build_context
from pms_desktop.domain.enums import AuditOutcome, Role
from pms_desktop.domain.errors import (
    AccountLocked,
    AuthenticationError,
    ConflictError,
    PermissionDenied,
    ValidationError,
)
from pms_desktop.domain.session import StaffSession
from pms_desktop.security.totp import current_code
from pms_desktop.services.accounts_dto import SecurityPolicy
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import AuditEntry, BreakGlassGrant, StaffUser
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS


def code(role: Role, at: datetime | None = None) -> str:
    return current_code(TOTP_SECRETS[role], at or datetime.now(UTC))


def entries(ctx, **where) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        q = select(AuditEntry).order_by(AuditEntry.seq)
        for k, v in where.items():
            q = q.where(getattr(AuditEntry, k) == v)
        return list(s.scalars(q))


def test_sign_in_with_password_and_code_returns_a_session(ctx) -> None:  # type: ignore[no-untyped-def]
    session = ctx.accounts.sign_in(username="Rita", password=TEST_PASSWORD,
                                   totp_code=code(Role.RECEPTION))
    assert session.username == "rita" and session.role is Role.RECEPTION
    last = entries(ctx, action="auth.sign_in")[-1]
    assert (last.username, last.outcome, last.user_id) == ("rita", "success", session.user_id)


@pytest.mark.parametrize("password,totp", [("wrong-password-123", None), (TEST_PASSWORD, "000000")])
def test_failed_sign_in_is_refused_and_logged(ctx, password, totp) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="rita", password=password,
                             totp_code=totp or code(Role.RECEPTION))
    last = entries(ctx, action="auth.sign_in")[-1]
    assert (last.username, last.outcome) == ("rita", AuditOutcome.FAILURE.value)


def test_unknown_user_is_logged_with_the_name_typed(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationError) as e:
        ctx.accounts.sign_in(username="mallory", password="x", totp_code="123456")
    assert "user name, password or code" in str(e.value)
    assert entries(ctx, action="auth.sign_in")[-1].username == "mallory"


def test_totp_code_is_accepted_only_once(ctx) -> None:  # type: ignore[no-untyped-def]
    c = code(Role.CLINICIAN)
    ctx.accounts.sign_in(username="drkelly", password=TEST_PASSWORD, totp_code=c)
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="drkelly", password=TEST_PASSWORD, totp_code=c)
    assert '"code already used"' in (entries(ctx, action="auth.sign_in")[-1].detail or "")


def test_five_failures_lock_and_the_lock_survives_reopening(ctx, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        with pytest.raises(AuthenticationError) as e:
            ctx.accounts.sign_in(username="paul", password="nope-nope-nope", totp_code="000000")
        assert not isinstance(e.value, AccountLocked)
    with pytest.raises(AccountLocked) as locked:
        ctx.accounts.sign_in(username="paul", password="nope-nope-nope", totp_code="000000")
    assert timedelta(minutes=14) < locked.value.until - datetime.now(UTC) <= timedelta(minutes=15)
    assert entries(ctx, action="auth.lock")[-1].username == "paul"
    ctx.close()
    reopened = build_context(ClinicDatabase.open(data_dir))
    try:
        with pytest.raises(AccountLocked):
            reopened.accounts.sign_in(username="paul", password=TEST_PASSWORD,
                                      totp_code=code(Role.PRACTICE_MANAGER))
        assert entries(reopened, action="auth.sign_in")[-1].outcome == "refused"
    finally:
        reopened.close()


def test_failures_count_in_a_row_a_good_sign_in_starts_again(ctx) -> None:  # type: ignore[no-untyped-def]
    """Typos spread over weeks, each followed by a good sign-in, never lock the account."""
    now = [datetime.now(UTC)]
    ctx.core.clock = lambda: now[0]
    for _day in range(3):
        for _ in range(4):
            with pytest.raises(AuthenticationError) as e:
                ctx.accounts.sign_in(username="paul", password="nope-nope-nope",
                                     totp_code="000000")
            assert not isinstance(e.value, AccountLocked)
        now[0] += timedelta(minutes=1)
        ctx.accounts.sign_in(username="paul", password=TEST_PASSWORD,
                             totp_code=code(Role.PRACTICE_MANAGER, now[0]))
        now[0] += timedelta(days=1)
    assert not entries(ctx, action="auth.lock")


def test_lock_expires_after_the_configured_time(ctx) -> None:  # type: ignore[no-untyped-def]
    now = [datetime.now(UTC)]
    ctx.core.clock = lambda: now[0]
    ctx.accounts._fixed_policy = SecurityPolicy(max_failures=3, lock_minutes=2)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            ctx.accounts.sign_in(username="paul", password="nope-nope-nope", totp_code="000000")
    now[0] += timedelta(minutes=2, seconds=1)
    ctx.accounts.sign_in(username="paul", password=TEST_PASSWORD,
                         totp_code=code(Role.PRACTICE_MANAGER, now[0]))


def test_throttle_refuses_to_evaluate_beyond_the_hourly_budget(ctx) -> None:  # type: ignore[no-untyped-def]
    ctx.accounts._fixed_policy = SecurityPolicy(max_failures=100, attempts_per_hour=3)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            ctx.accounts.sign_in(username="paul", password="nope-nope-nope", totp_code="000000")
    with pytest.raises(AuthenticationError, match="Too many"):
        ctx.accounts.sign_in(username="paul", password=TEST_PASSWORD,
                             totp_code=code(Role.PRACTICE_MANAGER))


def _new_user(ctx, admin: StaffSession, username: str = "nina",  # type: ignore[no-untyped-def]
              role: Role = Role.RECEPTION) -> StaffSession:
    info = ctx.accounts.create_user(admin, username=username, display_name="Nina Newcomer",
                                    role=role, password=TEST_PASSWORD)
    return ctx.accounts.sign_in(username=info.username, password=TEST_PASSWORD, totp_code="")


def test_mfa_enrolment_needs_one_valid_code_and_gives_one_time_recovery_codes(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    nina = _new_user(ctx, actors[Role.CLINIC_ADMIN])
    assert ctx.accounts.needs_mfa_enrolment(ctx.accounts.my_account(nina))
    enrol = ctx.accounts.begin_totp_enrolment(nina)
    assert enrol.uri.startswith("otpauth://totp/") and enrol.secret in enrol.uri
    with pytest.raises(ValidationError) as bad:
        ctx.accounts.confirm_totp_enrolment(nina, code="000000")
    assert "code" in bad.value.field_errors
    assert not ctx.accounts.my_account(nina).totp_enabled
    codes = ctx.accounts.confirm_totp_enrolment(nina, code=pyotp.TOTP(enrol.secret).now()).codes
    assert len(codes) == 10 and ctx.accounts.my_account(nina).totp_enabled
    with ctx.db.sessions()() as s:
        stored = s.scalars(select(StaffUser.recovery_codes)
                           .where(StaffUser.username == "nina")).one()
    assert codes[0] not in stored and "$argon2" in stored
    # Password alone no longer signs in; a recovery code does, once.
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="nina", password=TEST_PASSWORD, totp_code="")
    ctx.accounts.sign_in(username="nina", password=TEST_PASSWORD, totp_code=codes[0].lower())
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="nina", password=TEST_PASSWORD, totp_code=codes[0])


def test_user_management_is_logged_and_keeps_an_admin(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    admin = actors[Role.CLINIC_ADMIN]
    with pytest.raises(ValidationError) as weak:
        ctx.accounts.create_user(admin, username="zed", display_name="Zed", role="reception",
                                 password="password")
    assert "password" in weak.value.field_errors
    nina = ctx.accounts.create_user(admin, username="nina", display_name="Nina N", role="reception",
                                    password=TEST_PASSWORD)
    ctx.accounts.set_role(admin, user_id=nina.id, role=Role.PRACTICE_MANAGER)
    ctx.accounts.disable(admin, user_id=nina.id)
    assert [e.action for e in entries(ctx, resource_id=nina.id)] == [
        "user.create", "user.role.change", "user.disable"]
    with pytest.raises(AuthenticationError):
        ctx.accounts.sign_in(username="nina", password=TEST_PASSWORD, totp_code="")
    with pytest.raises(ConflictError):
        ctx.accounts.set_role(admin, user_id=admin.user_id, role=Role.RECEPTION)
    with pytest.raises(PermissionDenied):
        ctx.accounts.create_user(actors[Role.PRACTICE_MANAGER], username="x", display_name="X",
                                 role="clinic_admin", password=TEST_PASSWORD)
    assert entries(ctx, action="user.create")[-1].outcome == "refused"


def test_unlock_checks_the_password_and_the_code_when_asked(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    ctx.accounts.verify_unlock(rita, password=TEST_PASSWORD)
    with pytest.raises(AuthenticationError):
        ctx.accounts.verify_unlock(rita, password="wrong-wrong-wrong")
    with pytest.raises(AuthenticationError):
        ctx.accounts.verify_unlock(rita, password=TEST_PASSWORD, totp_code="000000")
    ctx.accounts.verify_unlock(rita, password=TEST_PASSWORD, totp_code=code(Role.RECEPTION))
    assert [e.outcome for e in entries(ctx, action="session.unlock")] == [
        "success", "failure", "failure", "success"]


def test_break_glass_needs_a_reason_and_is_flagged_and_time_limited(ctx, actors,  # type: ignore[no-untyped-def]
                                                                    make_patient) -> None:
    patient = make_patient()
    rita = actors[Role.RECEPTION]
    with pytest.raises(ValidationError):
        ctx.accounts.break_glass(rita, patient_id=patient, reason="  ")
    with pytest.raises(ValidationError):
        ctx.accounts.break_glass(actors[Role.CLINICIAN], patient_id=patient,
                                 reason="Collapsed at the desk")
    grant = ctx.accounts.break_glass(rita, patient_id=patient,
                                     reason="Patient collapsed at the desk")
    assert timedelta(minutes=29) < grant.expires_at - datetime.now(UTC) <= timedelta(minutes=30)
    entry = entries(ctx, action="break_glass.grant")[-1]
    assert entry.break_glass and entry.reason == "Patient collapsed at the desk"
    assert entry.patient_id == patient
    with ctx.db.sessions()() as s:
        assert s.scalars(select(BreakGlassGrant.user_id)).all() == [rita.user_id]
