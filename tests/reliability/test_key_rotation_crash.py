"""SIGKILL in the middle of a key rotation.

The database key is rotated over and over and the process killed at a random moment. Restarted
through the keyring as the application does, the database opens with exactly one key, passes
``cipher_integrity_check`` (every page under that key), keyinfo.json and the keyring name that
key and nothing pending, the key is never older than the last acknowledged one, and the recovery
secret still opens it.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import key_check
from pms_desktop.store.keys import KeyInfo, KeyStore, keys_from_recovery_secret
from pms_desktop.store.models import Clinic, Patient
from tests.reliability import children, killing
from tests.reliability.atomic_keyring import file_keystore
from tests.reliability.checks import database_problems
from tests.reliability.figures import record, trials

pytestmark = pytest.mark.reliability

ROUNDS = trials(5, 60)
OLD = datetime(2024, 1, 1, tzinfo=UTC)


def test_sigkill_during_key_rotation_leaves_one_key_that_opens_everything(
        tmp_path: Path) -> None:
    keyring_file = tmp_path / "keyring.cfg"
    keystore = file_keystore(keyring_file)
    folder = tmp_path / "clinic"
    db, secret = ClinicDatabase.create(folder, keystore)
    with db.engine.begin() as c:  # some pages to re-encrypt
        c.execute(insert(Clinic.__table__).values(
            id="c1", name="Rotating Clinic", timezone="UTC", currency="EUR", locale="en",
            local_revision=1, updated_at=OLD))
        c.execute(insert(Patient.__table__), [
            {"id": f"p{i:05d}", "clinic_id": "c1", "given": f"G{i}", "family": f"F{i}",
             "sex": "unknown", "birth_date": date(1970, 1, 1), "active": True,
             "local_revision": 1, "updated_at": OLD} for i in range(1500)])
    db.close()
    rng = random.Random(0x2E7)
    rotations = 0
    seen: list[str] = []  # every key check acknowledged so far, oldest first
    failures: list[str] = []
    for i, delay in enumerate(killing.kill_points(rng, ROUNDS, 0.6, low=0.005)):
        run = killing.run(children.rotate_keys, str(folder), str(keyring_file), kill_at=delay)
        assert run.error is None, run.error
        done = [m[1] for m in run.of("rotated")]
        rotations += len(done)
        seen += [run.of("ready")[0][1], *done]
        problems = _key_problems(folder, keystore, secret, seen)
        failures += [f"round {i} (kill at {delay:.3f}s, {len(done)} rotations): {p}"
                     for p in problems]
        if problems:
            break
    record("crash during key rotation", trials=ROUNDS, faults=ROUNDS,
           corruptions=len(failures), rotations=rotations)
    assert not failures, failures[:10]


def _key_problems(folder: Path, keystore: KeyStore, secret: str, seen: list[str]) -> list[str]:
    try:
        db = ClinicDatabase.open(folder, keystore)  # the restart, through the keyring
    except Exception as e:  # noqa: BLE001 - the finding itself
        return [f"does not open after the kill: {type(e).__name__}: {e}"]
    try:
        problems = database_problems(db)
        info = KeyInfo.load(folder)
        now = key_check(db.key)
        if info.check != now or info.pending_check is not None:
            problems.append("keyinfo.json does not name the key in use")
        if keystore.get(info.keyring_name) != db.key:
            problems.append("the keyring's entry is not the key in use")
        if keystore.get(info.keyring_name + ":pending") is not None:
            problems.append("a pending key is left in the keyring")
        # The last acknowledged key or the one in flight: never an older one.
        if now != seen[-1] and now in seen:
            problems.append("the database went back to a key older than the acknowledged one")
    finally:
        db.close()
    if db.key not in keys_from_recovery_secret(KeyInfo.load(folder), secret):
        problems.append("the recovery secret no longer opens the database")
    return problems



class _DyingKeyStore(KeyStore):
    """The keyring, in a process that dies at one moment of a rotation: right before the key in
    use is recorded (``before="main"``) or right after the pending key (``after="pending"``)."""

    def __init__(self, inner: KeyStore, *, before: str = "", after: str = "") -> None:
        super().__init__()
        self.inner, self.before, self.after = inner, before, after

    def _backend(self):  # type: ignore[no-untyped-def]
        return self.inner._backend()

    def put(self, name: str, key: bytes) -> None:
        kind = "pending" if name.endswith(":pending") else "main"
        if kind == self.before:
            raise SystemExit("killed")
        super().put(name, key)
        if kind == self.after:
            raise SystemExit("killed")


def _rotate_and_die(folder: Path, keystore: KeyStore, **moment: str) -> None:
    db = ClinicDatabase.open(folder, keystore)
    db.keystore = _DyingKeyStore(keystore, **moment)
    with pytest.raises(SystemExit):
        db.rotate_key()
    db.engine.dispose()


def test_a_rotation_cut_short_after_keyinfo_is_finished_in_the_keyring_at_the_next_start(
        tmp_path: Path) -> None:
    """Killed after keyinfo.json names the new key but before the keyring does: the next start
    must put the new key in the keyring, or a second rotation cut short before its rekey leaves
    no key in the keyring that opens the database."""
    keystore = file_keystore(tmp_path / "keyring.cfg")
    folder = tmp_path / "clinic"
    ClinicDatabase.create(folder, keystore)[0].close()
    _rotate_and_die(folder, keystore, before="main")
    restarted = ClinicDatabase.open(folder, keystore)
    name = restarted.info.keyring_name
    assert keystore.get(name) == restarted.key, "the keyring still names the old key"
    assert keystore.get(name + ":pending") is None
    restarted.close()
    _rotate_and_die(folder, keystore, after="pending")
    ClinicDatabase.open(folder, keystore).close()  # not RecoveryNeeded or WrongKeyError
