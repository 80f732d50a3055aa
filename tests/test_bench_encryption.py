"""bench.encryption.measure_store: the application's own work on an encrypted and a plain copy of
a clinic's store, written by the same export, the plain one opened with the application's
pragmas; the store measured is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlcipher3
from sqlalchemy import Connection

from bench import encryption
from pms_desktop.context import AppContext
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store import engine
from pms_desktop.store.database import ClinicDatabase

PEOPLE = [("Aoife", "Byrne", "1984-02-11", "0871234501"),
          ("Sean", "Walsh", "1979-09-30", "0861234502"),
          ("Mary", "Nowak", "1992-12-01", "0851234503"),
          ("Li", "Chen", "1966-07-19", "0831234504")]


@pytest.fixture
def clinic(ctx: AppContext, actors: dict[Role, StaffSession], data_dir: Path) -> Path:
    for given, family, dob, phone in PEOPLE:
        ctx.patients.register_patient(actors[Role.RECEPTION], draft=PatientDraft(
            given=given, family=family, birth_date=dob, phone=phone))
    return data_dir


def _count(conn: Connection, sql: str) -> int:
    return int(conn.exec_driver_sql(sql).scalar())


def test_the_copies_hold_the_same_clinic_one_encrypted_one_plain(clinic: Path,
                                                                 tmp_path: Path) -> None:
    key = ClinicDatabase.open(clinic).key
    enc_dir, plain_dir = tmp_path / "enc", tmp_path / "plain"
    encryption._export_copies(clinic, key, enc_dir, plain_dir)

    enc_file, plain_file = enc_dir / engine.DB_FILENAME, plain_dir / engine.DB_FILENAME
    assert plain_file.read_bytes()[:16] == engine.PLAIN_SQLITE_MAGIC
    assert enc_file.read_bytes()[:16] != engine.PLAIN_SQLITE_MAGIC
    assert b"Nowak" in plain_file.read_bytes() and b"Nowak" not in enc_file.read_bytes()

    enc = ClinicDatabase.open(enc_dir)  # as the application opens a store: its key, its format
    plain = encryption._plain_engine(plain_file)
    try:
        with enc.engine.connect() as e, plain.connect() as p:
            for sql in ("SELECT count(*) FROM patient", "SELECT count(*) FROM audit_log",
                        "SELECT count(*) FROM sqlite_master"):
                assert _count(e, sql) == _count(p, sql) > 0
            version = "SELECT version_num FROM alembic_version"
            assert e.exec_driver_sql(version).scalar() == p.exec_driver_sql(version).scalar()
            hmac = e.exec_driver_sql("PRAGMA cipher_hmac_algorithm").scalar()
            assert hmac == engine.HMAC_ALGORITHM
            for pragma in ("journal_mode", "synchronous", "foreign_keys", "cache_size",
                           "temp_store"):
                assert e.exec_driver_sql(f"PRAGMA {pragma}").scalar() == \
                    p.exec_driver_sql(f"PRAGMA {pragma}").scalar(), pragma
    finally:
        enc.close()
        plain.dispose()
    with pytest.raises(sqlcipher3.dbapi2.DatabaseError):  # no key opens the encrypted copy
        sqlcipher3.connect(str(enc_file)).execute("SELECT count(*) FROM sqlite_master").fetchone()


def test_measure_store_prints_each_workload_and_leaves_the_store_as_it_was(clinic: Path) -> None:
    before = sorted(p.name for p in clinic.parent.iterdir())
    with ClinicDatabase.open(clinic).engine.connect() as c:
        patients = _count(c, "SELECT count(*) FROM patient")

    figures = encryption.measure_store(clinic, repeat=3)

    assert [f.name for f in figures] == [
        "SQLCipher/SQLite, the store: register a patient",
        "SQLCipher/SQLite, the store: save a note draft",
        "SQLCipher/SQLite, the store: record vitals",
        "SQLCipher/SQLite, the store: patient search (name, birth date, phone)"]
    assert all(f.median is not None and f.median > 0 and f.target == "<= 1.3x" for f in figures)
    with ClinicDatabase.open(clinic).engine.connect() as c:  # the copies were written to, not it
        assert _count(c, "SELECT count(*) FROM patient") == patients
    assert sorted(p.name for p in clinic.parent.iterdir()) == before  # the copies are gone
