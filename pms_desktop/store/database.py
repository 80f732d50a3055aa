"""The clinic database in a data folder: create, open, unlock with the recovery secret, rotate.

A data folder holds ``clinic.db`` (SQLCipher), ``keyinfo.json`` (no secret), ``backups/`` and
``.lock``. The running application holds the lock; restore refuses while it is held.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..domain.errors import StoreError, UserError, WrongKeyError
from . import migrate
from .engine import DB_FILENAME, key_check, open_engine, raw_key_literal, session_factory
from .keys import (
    KeyInfo,
    KeyStore,
    keys_from_recovery_secret,
    new_database_key,
    new_keyinfo,
    new_recovery_secret,
    seal_to_public,
)

log = logging.getLogger(__name__)


class RecoveryNeeded(UserError):
    """The keyring holds no key for this database: the recovery secret is needed."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"The key of the clinic database in {data_dir} is not in this computer's keyring "
            "(a new user account or a restored disk?). Enter the clinic's recovery secret."
        )


class DataDirBusy(UserError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"The clinic data in {data_dir} is in use by another running program.")


def data_lock(data_dir: Path) -> FileLock:
    return FileLock(str(data_dir / ".lock"), timeout=0)


@dataclass
class ClinicDatabase:
    data_dir: Path
    engine: Engine
    info: KeyInfo
    _key: bytes = field(repr=False)
    keystore: KeyStore = field(default_factory=KeyStore)

    @property
    def path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def key(self) -> bytes:
        return self._key

    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    # --- creation and opening -------------------------------------------------------------

    @classmethod
    def exists(cls, data_dir: Path) -> bool:
        return (Path(data_dir) / DB_FILENAME).exists()

    @classmethod
    def create(cls, data_dir: Path, keystore: KeyStore | None = None) -> tuple[ClinicDatabase, str]:
        """A new, empty, migrated database. Returns it and the recovery secret to show once."""
        data_dir = Path(data_dir)
        keystore = keystore or KeyStore()
        if (data_dir / DB_FILENAME).exists():
            raise StoreError(f"{data_dir} already holds a clinic database.")
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "backups").mkdir(exist_ok=True)
        key = new_database_key()
        secret = new_recovery_secret()
        info = new_keyinfo(key, secret)
        keystore.put(info.keyring_name, key)  # fails loudly before anything is written
        info.save(data_dir)
        engine = open_engine(data_dir / DB_FILENAME, key)
        migrate.upgrade(engine)
        return cls(data_dir, engine, info, key, keystore), secret

    @classmethod
    def open(
        cls, data_dir: Path, keystore: KeyStore | None = None, *, upgrade: bool = True
    ) -> ClinicDatabase:
        data_dir = Path(data_dir)
        keystore = keystore or KeyStore()
        info = KeyInfo.load(data_dir)
        candidates = [keystore.get(info.keyring_name), keystore.get(info.keyring_name + ":pending")]
        keys = [k for k in candidates if k is not None]
        if not keys:
            raise RecoveryNeeded(data_dir)
        return cls._open_with_keys(data_dir, info, keys, keystore, upgrade=upgrade)

    @classmethod
    def open_with_recovery_secret(
        cls,
        data_dir: Path,
        secret: str,
        keystore: KeyStore | None = None,
        *,
        remember: bool = True,
        upgrade: bool = True,
    ) -> ClinicDatabase:
        data_dir = Path(data_dir)
        keystore = keystore or KeyStore()
        info = KeyInfo.load(data_dir)
        try:
            keys = keys_from_recovery_secret(info, secret)
        except WrongKeyError:
            raise
        except Exception:  # noqa: BLE001 - any failure to unseal is the wrong secret, said as such
            raise WrongKeyError(data_dir / DB_FILENAME,
                                "That recovery secret does not open this clinic.") from None
        db = cls._open_with_keys(data_dir, info, keys, keystore, upgrade=upgrade,
                                 remember=remember)
        if remember and keystore.available():
            keystore.put(info.keyring_name, db.key)
        return db

    @classmethod
    def _open_with_keys(
        cls, data_dir: Path, info: KeyInfo, keys: list[bytes], keystore: KeyStore, *, upgrade: bool,
        remember: bool = True,
    ) -> ClinicDatabase:
        from .backup import sweep_data_folder

        path = data_dir / DB_FILENAME
        sweep_data_folder(data_dir)  # what a killed backup or restore left behind
        checks = {info.check, info.pending_check} - {None}
        usable = [k for k in keys if key_check(k) in checks] or keys
        last_error: Exception | None = None
        for key in usable:
            try:
                engine = open_engine(path, key, expected_check=key_check(key))
            except StoreError as e:
                last_error = e
                continue
            db = cls(data_dir, engine, info, key, keystore)
            db._settle_rotation(remember=remember)
            if upgrade:
                migrate.upgrade_if_needed(engine, db._pre_upgrade_backup)
            return db
        assert last_error is not None
        raise last_error

    def _pre_upgrade_backup(self, reason: str) -> Path:
        from .backup import write_backup

        return write_backup(self, self.data_dir / "backups", label=reason)

    # --- key rotation ------------------------------------------------------------------------

    def _settle_rotation(self, *, remember: bool = True) -> None:
        """Finish (or forget) a rotation that a crash interrupted.

        keyinfo.json is settled first, the keyring after: a crash between the two leaves
        keyinfo naming the new key and the keyring still naming the old one (the new one only
        as pending). So the keyring is checked on every open, not only while keyinfo shows a
        rotation, or the next rotation would overwrite the only keyring copy of the key in use.
        ``remember=False`` (opened with the recovery secret, not to be remembered): the keyring
        is left alone.
        """
        info = self.info
        if info.pending_sealed_key:
            if key_check(self._key) == info.pending_check:
                info.sealed_key, info.check = info.pending_sealed_key, info.pending_check
            info.pending_sealed_key = info.pending_check = None
            info.save(self.data_dir)
        if remember and self.keystore.available():
            if self.keystore.get(info.keyring_name) != self._key:
                self.keystore.put(info.keyring_name, self._key)
            if self.keystore.get(info.keyring_name + ":pending") is not None:
                self.keystore.delete(info.keyring_name + ":pending")

    def rotate_key(self) -> None:
        """Re-encrypt the database under a new random key (``PRAGMA rekey``), crash-safely.

        Order: the new key is sealed into keyinfo and put in the keyring as *pending*; then the
        rekey (one SQLCipher transaction: the file is wholly old-key or new-key); then promoted.
        """
        new_key = new_database_key()
        info = self.info
        info.pending_sealed_key = seal_to_public(info.recovery_public, new_key,
                                                 purpose="database-key")
        info.pending_check = key_check(new_key)
        info.save(self.data_dir)
        self.keystore.put(info.keyring_name + ":pending", new_key)
        with self.engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            dbapi.execute(f'PRAGMA rekey = "{raw_key_literal(new_key)}"')
        self.engine.dispose()
        self.engine = open_engine(self.path, new_key, expected_check=key_check(new_key))
        self._key = new_key
        self._settle_rotation()
        from datetime import UTC, datetime

        self.info.rotated_at = datetime.now(UTC).isoformat()
        self.info.save(self.data_dir)

    # --- checks ------------------------------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            cipher = [r[0] for r in
                      conn.exec_driver_sql("PRAGMA cipher_integrity_check").fetchall()]
        return [r for r in rows if r != "ok"] + cipher

    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def checkpoint(self) -> None:
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.engine.dispose()


def acquire_lock(data_dir: Path) -> FileLock:
    lock = data_lock(Path(data_dir))
    try:
        lock.acquire()
    except Timeout:
        raise DataDirBusy(Path(data_dir)) from None
    return lock
