"""Backups are encrypted, consistent and restorable; retention keeps the newest ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied, StoreError
from pms_desktop.store.backup import read_backup, restore_backup, write_backup
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyStore
from pms_desktop.store.models import AuditEntry, Patient


def _rows(db: ClinicDatabase) -> list[tuple[str, str, str]]:
    with db.sessions()() as s:
        return sorted(s.execute(select(Patient.id, Patient.given, Patient.family)).all())


def test_backup_then_restore_gives_back_the_same_rows(ctx, make_patient, data_dir):  # type: ignore[no-untyped-def]
    for i in range(30):
        make_patient(given=f"Given{i}", family="Backup", phone=None)
    expected = _rows(ctx.db)
    path = write_backup(ctx.db, data_dir / "backups")
    assert b"Backup" not in path.read_bytes()
    make_patient(given="After", family="Backup")  # a change after the backup...
    ctx.close()
    restore_backup(path, data_dir)
    db = ClinicDatabase.open(data_dir)
    assert _rows(db) == expected  # ...is gone: the backup's rows, exactly
    assert db.integrity_problems() == []
    db.close()


def test_restore_on_a_new_computer_needs_the_recovery_secret(tmp_path, make_patient):  # type: ignore[no-untyped-def]
    db, secret = ClinicDatabase.create(tmp_path / "old")
    path = write_backup(db, tmp_path / "b.pmsbak")
    KeyStore().delete(db.info.keyring_name)
    db.close()
    target = tmp_path / "new"
    with pytest.raises(StoreError):
        restore_backup(path, target)
    restore_backup(path, target, recovery_secret=secret)
    ClinicDatabase.open(target).close()


def test_damaged_backup_is_refused_and_nothing_replaced(ctx, data_dir, make_patient):  # type: ignore[no-untyped-def]
    make_patient(given="Stays", family="Here")
    path = write_backup(ctx.db, data_dir / "backups")
    before = _rows(ctx.db)
    ctx.close()
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="damaged"):
        read_backup(path)
    with pytest.raises(StoreError):
        restore_backup(path, data_dir)
    db = ClinicDatabase.open(data_dir)
    assert _rows(db) == before
    db.close()


def test_backup_service_is_for_admins_and_logged(ctx, actors, data_dir):  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        ctx.backups.backup_now(actors[Role.RECEPTION])
    result = ctx.backups.backup_now(actors[Role.CLINIC_ADMIN])
    assert result.path.exists() and result.path.parent == data_dir / "backups"
    with ctx.db.sessions()() as s:
        actions = [(a.action, a.outcome)
                   for a in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert ("backup.create", "refused") in actions and ("backup.create", "success") in actions


def test_scheduled_backups_run_once_a_day_and_keep_the_newest(ctx, actors, data_dir):  # type: ignore[no-untyped-def]
    admin = actors[Role.CLINIC_ADMIN]
    ctx.backups.set_schedule(admin, enabled=True, hour=2, keep=3)
    now = [datetime(2026, 3, 1, 3, 0, tzinfo=UTC)]
    ctx.core.clock = lambda: now[0]
    made = []
    for day in range(5):
        now[0] = datetime(2026, 3, 1, 3, 0, tzinfo=UTC) + timedelta(days=day)
        first = ctx.backups.run_scheduled_if_due()
        assert first is not None
        made.append(first.path)
        assert ctx.backups.run_scheduled_if_due() is None  # not twice in one day
    kept = sorted((data_dir / "backups").glob("clinic-scheduled-*.pmsbak"))
    assert kept == sorted(made[-3:])
