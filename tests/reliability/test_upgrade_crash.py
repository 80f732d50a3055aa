"""SIGKILL in the middle of a schema upgrade.

A data folder saved by the first release (revision 0001, with patients) is opened by the current
application, which backs it up and upgrades it; the process is killed at moments spread over the
whole upgrade (measured first). Restarted, the database opens, passes the integrity checks and is
wholly at the old revision (none of the new tables) or wholly at head (the new search index
filled for every patient); any backup file in the folder is whole; a normal start then finishes
the upgrade with every patient kept.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from pms_desktop.store import migrate
from pms_desktop.store.backup import read_backup
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import open_engine
from pms_desktop.store.keys import (
    KeyStore,
    new_database_key,
    new_keyinfo,
    new_recovery_secret,
)
from pms_desktop.store.models import Clinic, Patient
from tests.reliability import children, killing
from tests.reliability.checks import database_problems
from tests.reliability.figures import record, trials

pytestmark = pytest.mark.reliability

FIRST = "0001"
UPGRADE_ROUNDS = trials(5, 60)
ROTATION_ROUNDS = trials(5, 60)
PATIENTS = 3000  # enough rows that the upgrade (backup, then index fill) takes a while
OLD = datetime(2024, 1, 1, tzinfo=UTC)


def _old_clinic(folder: Path, keystore: KeyStore) -> None:
    """A data folder whose database stopped at the first revision, with patients in it."""
    folder.mkdir(parents=True)
    key = new_database_key()
    info = new_keyinfo(key, new_recovery_secret())
    keystore.put(info.keyring_name, key)
    info.save(folder)
    (folder / "backups").mkdir()
    engine = open_engine(folder / "clinic.db", key)
    migrate.upgrade(engine, FIRST)
    with engine.begin() as c:
        c.execute(insert(Clinic.__table__).values(
            id="c1", name="Old Clinic", timezone="UTC", currency="EUR", locale="en",
            local_revision=1, updated_at=OLD))
        c.execute(insert(Patient.__table__), [
            {"id": f"p{i:05d}", "clinic_id": "c1", "given": f"Given{i}", "family": f"Family{i}",
             "sex": "unknown", "birth_date": date(1970, 1, 1), "active": True,
             "local_revision": 1, "updated_at": OLD,
             "phone_digits": f"086{i:07d}"} for i in range(PATIENTS)])
    engine.dispose()


def _revision_state(folder: Path) -> tuple[str | None, list[str]]:
    """Open without upgrading: the revision and what is wrong with it."""
    db = ClinicDatabase.open(folder, upgrade=False)
    try:
        problems = database_problems(db)
        revision = db.schema_revision()
        with db.engine.connect() as c:
            tables = set(c.execute(text("SELECT name FROM sqlite_master")).scalars())
            patients = c.execute(text("SELECT count(*) FROM patient")).scalar()
            if patients != PATIENTS:
                problems.append(f"{patients} patients instead of {PATIENTS}")
            if revision == FIRST and any(t.startswith("patient_search") for t in tables):
                problems.append("at the old revision but with new tables: a half upgrade")
            elif revision == migrate.head_revision():
                indexed = c.execute(text("SELECT count(*) FROM patient_search_key")).scalar()
                if indexed != PATIENTS:
                    problems.append(f"at head with {indexed} of {PATIENTS} patients indexed")
            elif revision not in (FIRST, migrate.head_revision()):
                problems.append(f"at revision {revision}, neither old nor new")
    finally:
        db.close()
    for backup in (folder / "backups").glob("*.pmsbak"):
        try:
            read_backup(backup)
        except Exception as e:  # noqa: BLE001 - any failure is a torn backup
            problems.append(f"backup {backup.name} is not whole: {e}")
    return revision, problems


def test_sigkill_during_a_schema_upgrade_leaves_old_or_new_never_between(tmp_path: Path) -> None:
    keystore = KeyStore()
    pristine = tmp_path / "old"
    _old_clinic(pristine, keystore)
    calibration = tmp_path / "calibration"
    shutil.copytree(pristine, calibration)
    full = killing.run(children.upgrade, str(calibration), kill_at=None)
    assert full.error is None, full.error
    duration = full.of("done")[0][1] - full.of("ready")[0][1]
    rng = random.Random(0x0001)
    at_old = at_new = stale = 0
    failures: list[str] = []
    for i, delay in enumerate(killing.kill_points(rng, UPGRADE_ROUNDS, duration * 1.1)):
        folder = tmp_path / f"round{i}"
        shutil.copytree(pristine, folder)
        run = killing.run(children.upgrade, str(folder), kill_at=delay)
        assert run.error is None, run.error
        revision, problems = _revision_state(folder)
        at_old += revision == FIRST
        at_new += revision == migrate.head_revision()
        db = ClinicDatabase.open(folder)  # a normal start finishes the work
        try:
            if db.schema_revision() != migrate.head_revision():
                problems.append("a normal start did not finish the upgrade")
            problems += database_problems(db)
        finally:
            db.close()
        # a backup cut short left its temporary copy (encrypted under a key nobody kept): the
        # start that finished the upgrade has swept it
        leftovers = [*(folder / "backups").glob(".backup-*"), *folder.rglob("*.tmp"),
                     *folder.rglob("*.partial")]
        stale += len(leftovers)
        problems += [f"left behind: {p.name}" for p in leftovers]
        failures += [f"kill at {delay:.3f}s of {duration:.3f}s: {p}" for p in problems]
        shutil.rmtree(folder)
    record("crash during a schema upgrade", trials=UPGRADE_ROUNDS, faults=UPGRADE_ROUNDS,
           corruptions=len(failures), killed_before=at_old, killed_after=at_new,
           stale_temporary_files=stale)
    assert not failures, failures[:10]
    assert at_old + at_new == UPGRADE_ROUNDS
