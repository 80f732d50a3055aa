"""Encrypted, consistent backups of the clinic database, and restoring them.

A backup file (``.pmsbak``) is one file:

    b"PMSBAK1\\n" | 4-byte big-endian header length | header JSON | SQLCipher database bytes

The database inside is a ``sqlcipher_export`` copy taken in one read transaction (consistent
while the application keeps working), encrypted under its own random key. Backups written
before the store's pages were authenticated with HMAC-SHA256 hold the old format (HMAC-SHA512):
``open_engine`` converts the staged copy, so they restore as any other. The header (no
secret in it) carries that key sealed twice: to the clinic's recovery public key (so the
recovery secret restores it on a new computer) and under the live database key (so the same
workstation restores it without the secret), plus a SHA-256 of the payload.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine

from .. import __version__
from ..domain.errors import StoreError, WrongKeyError
from . import migrate
from .engine import (
    DB_FILENAME,
    HMAC_ALGORITHM,
    key_check,
    open_engine,
    raw_key_literal,
    translate_errors,
)
from .keys import (
    KeyInfo,
    KeyStore,
    _b64,
    _recovery_private_key,
    _unb64,
    new_database_key,
    open_sealed,
    seal_to_public,
    write_atomic,
)
from .scratch import scratch_dir, sweep

if TYPE_CHECKING:
    from .database import ClinicDatabase

MAGIC = b"PMSBAK1\n"
SCRATCH_BACKUP = ".backup-"
SCRATCH_RESTORE = ".restore-"


def _local_wrap_key(db_key: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"clinic-pms backup wrap v1").derive(db_key)


@dataclass(frozen=True)
class BackupHeader:
    data: dict[str, Any]

    @property
    def created_at(self) -> str:
        return str(self.data["created_at"])

    @property
    def schema_revision(self) -> str | None:
        return self.data.get("schema_revision")


def export_copy(engine: Engine, target: Path, target_key: bytes) -> None:
    """Consistent encrypted copy of the live database (``sqlcipher_export`` in one transaction)."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute(f"ATTACH DATABASE ? AS backup KEY \"{raw_key_literal(target_key)}\"",
                    (str(target),))
        try:
            # The copy in the store's format, whatever the live store's (see engine.py).
            raw.execute(f"PRAGMA backup.cipher_hmac_algorithm = {HMAC_ALGORITHM}")
            raw.execute("BEGIN")
            try:
                raw.execute("SELECT sqlcipher_export('backup')")
                raw.execute("COMMIT")
            except BaseException:
                raw.execute("ROLLBACK")
                raise
        finally:
            raw.execute("DETACH DATABASE backup")


def write_backup(db: ClinicDatabase, out: Path, *, label: str = "backup") -> Path:
    """Write a backup file. ``out`` is a file path, or a folder to put a dated file in.

    A full disk or a read-only folder is told as such; nothing is left behind but whole files."""
    out = Path(out)
    folder = out if out.is_dir() or not out.suffix else out.parent
    with translate_errors(folder, "the backup was not written"):
        return _write_backup(db, out, label)


def _write_backup(db: ClinicDatabase, out: Path, label: str) -> Path:
    if out.is_dir() or not out.suffix:
        out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        out = out / f"clinic-{label}-{stamp}.pmsbak"
    out.parent.mkdir(parents=True, exist_ok=True)
    backup_key = new_database_key()
    with scratch_dir(out.parent, SCRATCH_BACKUP) as tmp:
        copy = tmp / "copy.db"
        export_copy(db.engine, copy, backup_key)
        payload = copy.read_bytes()
        copy.unlink()
        # Staged in the scratch folder: a crash leaves no partial file beside the backups.
        write_atomic(out, _backup_file(db, payload, backup_key, label), tmp=tmp / "backup.partial")
    return out


def _backup_file(db: ClinicDatabase, payload: bytes, backup_key: bytes, label: str) -> bytes:
    nonce = os.urandom(12)
    header = {
        "format": 1,
        "app_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "label": label,
        "database_id": db.info.database_id,
        "schema_revision": db.schema_revision(),
        "recovery_public_key": _b64(db.info.recovery_public),
        "recovery_salt": _b64(db.info.recovery_salt),
        "key_for_recovery": seal_to_public(db.info.recovery_public, backup_key,
                                           purpose="backup-key"),
        "key_for_database": {
            "key_check": db.info.check,
            "nonce": _b64(nonce),
            "ciphertext": _b64(
                AESGCM(_local_wrap_key(db.key)).encrypt(nonce, backup_key, b"backup")
            ),
        },
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_bytes": len(payload),
    }
    blob = json.dumps(header).encode()
    return MAGIC + struct.pack(">I", len(blob)) + blob + payload


def read_backup(path: Path) -> tuple[BackupHeader, bytes]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StoreError(f"Cannot read the backup {path}: {e.strerror}.") from None
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise StoreError(f"{path} is not a clinic backup file.")
    (n,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    try:
        header = json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + n])
    except ValueError:
        raise StoreError(f"The backup {path} is damaged (its header cannot be read).") from None
    payload = data[len(MAGIC) + 4 + n :]
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise StoreError(f"The backup {path} is damaged or incomplete (checksum mismatch).")
    return BackupHeader(header), payload


def backup_key_from(header: BackupHeader, *, db_key: bytes | None,
                    recovery_secret: str | None) -> bytes:
    h = header.data
    if db_key is not None and key_check(db_key) == h["key_for_database"]["key_check"]:
        wrapped = h["key_for_database"]
        return AESGCM(_local_wrap_key(db_key)).decrypt(
            _unb64(wrapped["nonce"]), _unb64(wrapped["ciphertext"]), b"backup"
        )
    if recovery_secret:
        private = _recovery_private_key(recovery_secret, _unb64(h["recovery_salt"]))
        try:
            return open_sealed(private, h["key_for_recovery"], purpose="backup-key")
        except Exception:  # noqa: BLE001 - any failure to unseal is the wrong secret, said as such
            raise WrongKeyError("backup",
                                "That recovery secret does not open this backup.") from None
    raise WrongKeyError(
        "backup",
        "This backup was made under another database key: enter the clinic's recovery secret.",
    )


def restore_backup(
    backup: Path,
    data_dir: Path,
    *,
    keystore: KeyStore | None = None,
    recovery_secret: str | None = None,
    verify: Callable[[Engine], None] | None = None,
) -> None:
    """Replace the data folder's database with the backup, after checking the backup opens.

    ``verify(engine)`` runs on the opened backup before anything is replaced (for example a
    staff sign-in checked against the backup's own accounts); it raises to refuse.
    The caller holds the data folder's lock.
    """
    data_dir = Path(data_dir)
    keystore = keystore or KeyStore()
    header, payload = read_backup(backup)
    db_key: bytes | None = None
    info: KeyInfo | None = None
    if (data_dir / "keyinfo.json").exists():
        info = KeyInfo.load(data_dir)
        db_key = keystore.get(info.keyring_name) if keystore.available() else None
    bkey = backup_key_from(header, db_key=db_key, recovery_secret=recovery_secret)
    if header.schema_revision and header.schema_revision not in migrate.known_revisions():
        from ..domain.errors import SchemaTooNewError

        raise SchemaTooNewError(header.schema_revision, migrate.head_revision())
    data_dir.mkdir(parents=True, exist_ok=True)
    with scratch_dir(data_dir, SCRATCH_RESTORE) as tmp:
        staged = tmp / "backup.db"
        staged.write_bytes(payload)
        engine = open_engine(staged, bkey)
        try:
            with engine.connect() as conn:
                bad = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check") if r[0] != "ok"]
            if bad:
                raise StoreError(f"The backup {backup} does not pass the integrity check.")
            if verify is not None:
                verify(engine)
            if info is None or db_key is None:
                # A new computer: a fresh database key, sealed to the backup's recovery key.
                info = KeyInfo(
                    database_id=header.data["database_id"],
                    recovery_public=_unb64(header.data["recovery_public_key"]),
                    recovery_salt=_unb64(header.data["recovery_salt"]),
                    sealed_key={},
                    check="",
                    created_at=datetime.now(UTC).isoformat(),
                )
                db_key = new_database_key()
                info.sealed_key = seal_to_public(info.recovery_public, db_key,
                                                 purpose="database-key")
                info.check = key_check(db_key)
                keystore.put(info.keyring_name, db_key)
                info.save(data_dir)
            final = tmp / "restored.db"
            export_copy(engine, final, db_key)
        finally:
            engine.dispose()
        target = data_dir / DB_FILENAME
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(final, target)


def prune_backups(folder: Path, keep: int, *, label: str = "scheduled") -> list[Path]:
    """Delete the oldest scheduled backups beyond ``keep``; returns what was removed."""
    files = sorted(folder.glob(f"clinic-{label}-*.pmsbak"))
    doomed = files[: max(0, len(files) - keep)]
    for f in doomed:
        f.unlink(missing_ok=True)
    return doomed


def sweep_data_folder(data_dir: Path) -> list[Path]:
    """Remove what a backup or a restore killed midway left in a data folder (see scratch.py)."""
    data_dir = Path(data_dir)
    return [*sweep(data_dir, SCRATCH_RESTORE), *sweep(data_dir / "backups", SCRATCH_BACKUP)]
