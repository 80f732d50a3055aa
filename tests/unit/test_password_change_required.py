"""A password an admin set (new account, reset) must be changed before anything else: the
service layer refuses every other operation of that account's sessions, logs the refusal, and
the command line refuses to sign such an account in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from pms_desktop.cli import main
from pms_desktop.context import open_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PasswordChangeRequired, PermissionDenied
from pms_desktop.security.totp import current_code
from pms_desktop.services.base import REGISTRY
from pms_desktop.store.backup import write_backup
from pms_desktop.store.models import AuditEntry, StaffUser
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.unit.test_rbac_matrix import OPERATIONS, _arguments, _bound

SET_BY_ADMIN = "Temporary-Orchid-58-Lantern"
OWN = "Quiet-Harbour-73-Meadow"


def _refusals(ctx, user_id: str, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        return list(s.scalars(select(AuditEntry).where(
            AuditEntry.user_id == user_id, AuditEntry.action == action,
            AuditEntry.outcome == "refused").order_by(AuditEntry.seq)))


def test_a_reset_password_allows_nothing_but_changing_it(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    patient_id = make_patient()
    rita = actors[Role.RECEPTION]
    ctx.accounts.reset_password(actors[Role.CLINIC_ADMIN], user_id=rita.user_id,
                                new_password=SET_BY_ADMIN)
    session = ctx.accounts.sign_in(username="rita", password=SET_BY_ADMIN,
                                   totp_code=current_code(TOTP_SECRETS[Role.RECEPTION],
                                                          datetime.now(UTC)))
    # Signed in (the UI then forces the change), but the services refuse real work: also for a
    # session opened before the reset, which the UI's check at sign-in never saw.
    for who in (session, rita):
        with pytest.raises(PasswordChangeRequired) as refused:
            ctx.patients.get_patient(who, patient_id=patient_id)
        assert isinstance(refused.value, PermissionDenied)
        assert "Choose a new one" in str(refused.value)
    with pytest.raises(PasswordChangeRequired):
        ctx.patients.search(session, "Murphy")
    logged = _refusals(ctx, rita.user_id, "patients.open")
    assert len(logged) == 2 and all(e.patient_id == patient_id for e in logged)
    detail = json.loads(logged[0].detail)
    assert detail["refused"] == "PasswordChangeRequired"
    assert detail["permission"] == "must_change_password"
    assert _refusals(ctx, rita.user_id, "patients.search")

    # What stays open: the account itself, lock, the change; sign-out after it.
    assert ctx.accounts.my_account(session).must_change_password
    ctx.accounts.record_lock(session, reason="request")
    ctx.accounts.change_password(session, current=SET_BY_ADMIN, new=OWN)

    assert ctx.patients.get_patient(session, patient_id=patient_id).id == patient_id
    assert [p.id for p in ctx.patients.search(session, "Murphy")] == [patient_id]
    assert not ctx.accounts.my_account(session).must_change_password
    ctx.accounts.sign_out(session)


def test_a_new_account_is_refused_until_its_password_is_changed(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    nina = ctx.accounts.create_user(actors[Role.CLINIC_ADMIN], username="nina",
                                    display_name="Nina Nolan", role="practice_manager",
                                    password=SET_BY_ADMIN)
    session = ctx.accounts.sign_in(username="nina", password=SET_BY_ADMIN, totp_code="")
    today = datetime.now(UTC).date()
    with pytest.raises(PasswordChangeRequired):
        ctx.reports.run(session, kind="takings", date_from=today, date_to=today)
    assert len(_refusals(ctx, nina.id, "reports.run")) == 1
    ctx.accounts.change_password(session, current=SET_BY_ADMIN, new=OWN)
    assert ctx.reports.run(session, kind="takings", date_from=today, date_to=today) is not None


def test_the_command_line_refuses_an_account_that_must_change_its_password(  # type: ignore[no-untyped-def]
        data_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    ctx = open_context(data_dir)
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(StaffUser).where(StaffUser.username == "admin")
                  .values(must_change_password=True))
    ctx.close()
    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[Role.CLINIC_ADMIN], datetime.now(UTC)))
    out = tmp_path / "log.jsonl"
    code = main(["audit", "export", "--data-dir", str(data_dir), "--out", str(out),
                 "--user", "admin"])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert "set by an administrator" in err and "to the application" in err
    ctx = open_context(data_dir)
    try:
        with ctx.db.sessions()() as s:
            actions = [e.action for e in s.scalars(
                select(AuditEntry).where(AuditEntry.username == "admin").order_by(AuditEntry.seq))]
    finally:
        ctx.close()
    assert actions[-3:] == ["auth.sign_in", "account.read", "session.sign_out"]  # closed at once


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_against_a_password_that_must_change(  # type: ignore[no-untyped-def]
        name: str, ctx, actors, make_patient, tmp_path: Path) -> None:
    """The RBAC matrix's row for an admin whose password an admin set: every operation but the
    few declared ``before_password_change`` is refused, and the refusal is logged."""
    spec = REGISTRY[name]
    method = _bound(ctx, spec)
    assert method is not None, name
    patient_id = make_patient()
    admin = actors[Role.CLINIC_ADMIN]
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(StaffUser).where(StaffUser.id == admin.user_id)
                  .values(must_change_password=True))
        before = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    refused = False
    try:
        method(admin, **_arguments(method, patient_id, tmp_path))
    except PasswordChangeRequired:
        refused = True
    except Exception:  # noqa: BLE001,S110 - after the check: allowed
        pass
    assert refused is not spec.before_password_change, name
    with ctx.db.sessions()() as s:
        logged = [e for e in s.scalars(select(AuditEntry).where(AuditEntry.seq > before))
                  if e.outcome == "refused"
                  and json.loads(e.detail or "{}").get("refused") == "PasswordChangeRequired"]
    assert [(e.action, e.user_id) for e in logged] == (
        [(spec.action, admin.user_id)] if refused else []), name


def test_restore_refuses_an_admin_whose_password_must_change(  # type: ignore[no-untyped-def]
        data_dir: Path, monkeypatch, capsys) -> None:
    """``restore`` checks the sign-in against the backup's own staff: the same refusal there."""
    ctx = open_context(data_dir)
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(StaffUser).where(StaffUser.username == "admin")
                  .values(must_change_password=True))
    path = write_backup(ctx.db, data_dir / "backups")
    ctx.close()
    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[Role.CLINIC_ADMIN], datetime.now(UTC)))
    code = main(["restore", "--data-dir", str(data_dir), "--from", str(path), "--user", "admin"])
    err = capsys.readouterr().err
    assert code == 1 and "set by an administrator" in err
