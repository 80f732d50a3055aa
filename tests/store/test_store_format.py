"""Stores and backups made before the pages were authenticated with HMAC-SHA256 (issue 9).

Earlier versions wrote SQLCipher 4's default format (HMAC-SHA512). Such a store opens as before,
converted once to the current format with every row kept (also the saves still in its WAL);
such a backup restores; the current format still detects a tampered page; a conversion that
cannot finish leaves the old store whole and working.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlcipher3
from sqlalchemy import insert, select

from pms_desktop.domain.errors import NotADatabaseError
from pms_desktop.store import backup as backup_module
from pms_desktop.store import engine as engine_module
from pms_desktop.store.backup import restore_backup, write_backup
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import (
    CONVERTING_SUFFIX,
    DB_FILENAME,
    HMAC_ALGORITHM,
    LEGACY_HMAC_ALGORITHM,
    raw_key_literal,
)
from pms_desktop.store.models import Clinic, Patient

OLD = datetime(2024, 1, 1, tzinfo=UTC)


@contextmanager
def previous_version() -> Iterator[None]:
    """The application as it was before issue 9: the same code, writing HMAC-SHA512 pages."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "HMAC_ALGORITHM", LEGACY_HMAC_ALGORITHM)
        mp.setattr(backup_module, "HMAC_ALGORITHM", LEGACY_HMAC_ALGORITHM)
        yield


def opens_as(path: Path, key: bytes, algorithm: str) -> bool:
    conn = sqlcipher3.connect(str(path))
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f'PRAGMA key = "{raw_key_literal(key)}"')
        conn.execute(f"PRAGMA cipher_hmac_algorithm = {algorithm}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except sqlcipher3.dbapi2.DatabaseError:
        return False
    finally:
        conn.close()


def families(db: ClinicDatabase) -> list[str]:
    with db.sessions()() as s:
        return sorted(s.scalars(select(Patient.family)))


def add_patients(db: ClinicDatabase, prefix: str, n: int) -> None:
    with db.engine.begin() as c:
        if c.execute(select(Clinic.id)).first() is None:
            c.execute(insert(Clinic.__table__).values(
                id="c1", name="Old Clinic", timezone="UTC", currency="EUR", locale="en",
                local_revision=1, updated_at=OLD))
        c.execute(insert(Patient.__table__), [
            {"id": f"{prefix}{i:05d}", "clinic_id": "c1", "given": f"G{i}",
             "family": f"{prefix}{i}", "sex": "unknown", "birth_date": date(1970, 1, 1),
             "active": True, "local_revision": 1, "updated_at": OLD} for i in range(n)])


def legacy_folder(folder: Path, *, in_wal: int = 0) -> tuple[bytes, str, list[str]]:
    """A data folder left by the previous version: the store in the old format, with
    ``in_wal`` patients saved only in its WAL (the machine died before a checkpoint)."""
    with previous_version():
        db, secret = ClinicDatabase.create(folder)
        add_patients(db, "Merged", 200)
        db.checkpoint()
        if in_wal:
            with db.engine.connect() as c:
                c.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
            add_patients(db, "OnlyInWal", in_wal)
            snapshot = folder.with_name(folder.name + "-died")
            shutil.copytree(folder, snapshot, ignore=shutil.ignore_patterns(".lock"))
        expected = families(db)
        key = db.key
        db.close()
    if in_wal:
        assert (snapshot / (DB_FILENAME + "-wal")).stat().st_size > 0
        shutil.rmtree(folder)
        snapshot.rename(folder)
    assert opens_as(folder / DB_FILENAME, key, LEGACY_HMAC_ALGORITHM)
    assert not opens_as(folder / DB_FILENAME, key, HMAC_ALGORITHM)
    return key, secret, expected


def test_a_store_of_the_previous_version_opens_converted_with_every_row(tmp_path: Path) -> None:
    folder = tmp_path / "clinic"
    key, secret, expected = legacy_folder(folder, in_wal=30)
    assert any(f.startswith("OnlyInWal") for f in expected)
    db = ClinicDatabase.open(folder)
    try:
        assert families(db) == expected  # the WAL's saves too
        assert db.integrity_problems() == []  # every page's HMAC, in the new format
        add_patients(db, "After", 3)
    finally:
        db.close()
    path = folder / DB_FILENAME
    assert opens_as(path, key, HMAC_ALGORITHM) and not opens_as(path, key, LEGACY_HMAC_ALGORITHM)
    assert not list(folder.glob(f"*{CONVERTING_SUFFIX}*"))
    # the recovery secret and a key rotation work on the converted store
    db = ClinicDatabase.open_with_recovery_secret(folder, secret)
    db.rotate_key()
    assert opens_as(path, db.key, HMAC_ALGORITHM)
    db.close()
    db = ClinicDatabase.open(folder)
    assert len(families(db)) == len(expected) + 3
    db.close()


def test_a_backup_of_the_previous_version_restores(tmp_path: Path) -> None:
    folder = tmp_path / "clinic"
    legacy_folder(folder)
    with previous_version():
        db = ClinicDatabase.open(folder)
        old_backup = write_backup(db, tmp_path / "old.pmsbak")
        expected = families(db)
        db.close()
    db = ClinicDatabase.open(folder)  # converted; then changed after the backup
    add_patients(db, "Later", 5)
    key = db.key
    db.close()
    restore_backup(old_backup, folder)
    assert opens_as(folder / DB_FILENAME, key, HMAC_ALGORITHM)  # restored in the new format
    db = ClinicDatabase.open(folder)
    try:
        assert families(db) == expected
        assert db.integrity_problems() == []
    finally:
        db.close()


def test_a_conversion_that_cannot_finish_leaves_the_old_store_working(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "clinic"
    key, _, expected = legacy_folder(folder, in_wal=10)

    def full_disk(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as mp:
        mp.setattr(engine_module.os, "replace", full_disk)
        db = ClinicDatabase.open(folder)
        assert families(db) == expected
        add_patients(db, "Saved", 2)  # still a working store, in the old format
        db.close()
    assert opens_as(folder / DB_FILENAME, key, LEGACY_HMAC_ALGORITHM)
    assert not list(folder.glob(f"*{CONVERTING_SUFFIX}*"))  # no stray copy of the clinic
    db = ClinicDatabase.open(folder)  # room again: converted now
    assert len(families(db)) == len(expected) + 2
    db.close()
    assert opens_as(folder / DB_FILENAME, key, HMAC_ALGORITHM)


def test_a_tampered_page_is_still_detected(ctx, data_dir) -> None:  # type: ignore[no-untyped-def]
    key = ctx.db.key
    ctx.db.checkpoint()
    ctx.close()
    path = data_dir / DB_FILENAME
    assert opens_as(path, key, HMAC_ALGORITHM)
    raw = bytearray(path.read_bytes())
    raw[3 * 4096 + 100] ^= 0x01  # one bit of page 4's ciphertext
    path.write_bytes(bytes(raw))
    try:
        db = ClinicDatabase.open(data_dir)
    except NotADatabaseError:
        return
    try:
        assert db.integrity_problems(), "a flipped bit went unnoticed"
    finally:
        db.close()
