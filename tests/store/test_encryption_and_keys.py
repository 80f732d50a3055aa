"""The database is encrypted, the key is needed, the recovery secret works, rotation keeps rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from pms_desktop.domain.errors import KeyringUnavailable, NotADatabaseError, WrongKeyError
from pms_desktop.store.database import ClinicDatabase, RecoveryNeeded
from pms_desktop.store.engine import open_engine
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.store.models import Patient

CANARY_FAMILY = "Zyxwvutsky"
CANARY_PHONE = "0871234999"


def _add_canary(make_patient) -> str:  # type: ignore[no-untyped-def]
    return make_patient(given="Quentina", family=CANARY_FAMILY, phone=CANARY_PHONE, mrn="CANARY-77")


def _files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file()]


def test_patient_text_never_on_disk_in_clear(ctx, make_patient, data_dir):  # type: ignore[no-untyped-def]
    _add_canary(make_patient)
    ctx.close()  # checkpoint: the WAL is folded into the file
    for f in _files(data_dir):
        raw = f.read_bytes()
        for needle in (CANARY_FAMILY.encode(), CANARY_PHONE.encode(), b"CANARY-77", b"Quentina"):
            assert needle not in raw, f"{needle!r} found in clear in {f.name}"


def test_wal_holds_no_clear_text_while_open(ctx, make_patient, data_dir):  # type: ignore[no-untyped-def]
    _add_canary(make_patient)
    wal = data_dir / "clinic.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    assert CANARY_FAMILY.encode() not in wal.read_bytes()


def test_plain_sqlite_cannot_read_it(ctx, data_dir):  # type: ignore[no-untyped-def]
    ctx.close()
    conn = sqlite3.connect(data_dir / "clinic.db")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    conn.close()


def test_wrong_key_is_refused_clearly_and_file_untouched(ctx, data_dir):  # type: ignore[no-untyped-def]
    ctx.close()
    before = (data_dir / "clinic.db").read_bytes()
    info = KeyInfo.load(data_dir)
    with pytest.raises(WrongKeyError) as err:
        open_engine(data_dir / "clinic.db", b"\x01" * 32, expected_check=info.check)
    assert "does not open" in str(err.value)
    with pytest.raises(WrongKeyError):
        open_engine(data_dir / "clinic.db", b"\x01" * 32)  # no check value known: same verdict
    assert (data_dir / "clinic.db").read_bytes() == before


def test_damaged_file_names_the_file_and_last_backup(ctx, data_dir):  # type: ignore[no-untyped-def]
    from pms_desktop.store.backup import write_backup

    backup = write_backup(ctx.db, data_dir / "backups", label="manual")
    ctx.close()
    db_file = data_dir / "clinic.db"
    raw = bytearray(db_file.read_bytes())
    raw[:4096] = b"\x00" * 4096  # the first page (its salt) is destroyed
    db_file.write_bytes(bytes(raw))
    with pytest.raises(NotADatabaseError) as err:
        ClinicDatabase.open(data_dir)
    assert str(db_file) in str(err.value) and backup.name in str(err.value)


def test_recovery_secret_opens_without_keyring_entry(tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "c"
    db, secret = ClinicDatabase.create(folder)
    with db.engine.begin() as c:
        c.execute(text("CREATE TABLE IF NOT EXISTS probe(v TEXT)"))
        c.execute(text("INSERT INTO probe VALUES ('kept')"))
    name = db.info.keyring_name
    db.close()
    KeyStore().delete(name)  # a new OS account, a restored disk...
    with pytest.raises(RecoveryNeeded):
        ClinicDatabase.open(folder)
    with pytest.raises(WrongKeyError):
        ClinicDatabase.open_with_recovery_secret(folder,
                                                 "AAAAAA-BBBBBB-CCCCCC-DDDDDD-EEEEEE-FFFFFF-GGGGGG-HHHHHH")
    db = ClinicDatabase.open_with_recovery_secret(folder, secret.lower().replace("-", " "))
    with db.engine.connect() as c:
        assert c.execute(text("SELECT v FROM probe")).scalar() == "kept"
    db.close()
    ClinicDatabase.open(folder).close()  # and the key is back in the keyring


def test_no_keyring_backend_is_said_clearly_never_plaintext(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    with pytest.raises(KeyringUnavailable) as err:
        ClinicDatabase.create(tmp_path / "x")
    assert "recovery secret" in str(err.value)
    assert not (tmp_path / "x" / "clinic.db").exists()
    assert not (tmp_path / "x" / "keyinfo.json").exists()


def test_rotation_keeps_every_row_and_recovery_secret(tmp_path, make_patient, ctx, data_dir):  # type: ignore[no-untyped-def]
    for i in range(25):
        make_patient(given=f"P{i}", family="Rotate", phone=None)
    old_key = ctx.db.key
    with ctx.db.sessions()() as s:
        before = s.scalar(select(func.count()).select_from(Patient))
    ctx.db.rotate_key()
    assert ctx.db.key != old_key
    ctx.close()
    with pytest.raises(WrongKeyError):
        open_engine(data_dir / "clinic.db", old_key)
    db = ClinicDatabase.open(data_dir)
    with db.sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == before
    assert db.integrity_problems() == []
    db.close()


def test_crash_between_rekey_and_keyring_update_loses_nothing(ctx, data_dir, monkeypatch):  # type: ignore[no-untyped-def]
    db = ctx.db

    def crash() -> None:
        raise SystemExit("power cut")

    monkeypatch.setattr(db, "_settle_rotation", crash)
    with pytest.raises(SystemExit):
        db.rotate_key()  # rekeyed, the keyring still holds the old key as main entry
    db.close()
    monkeypatch.undo()
    reopened = ClinicDatabase.open(data_dir)  # finds the pending key and settles the rotation
    assert reopened.info.pending_sealed_key is None
    assert reopened.integrity_problems() == []
    reopened.close()
