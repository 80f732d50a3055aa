"""The SQLCipher engine: one writer connection, WAL with ``synchronous=FULL``, foreign keys on.

The key is given as 32 raw bytes and handed to SQLCipher as a raw key (no KDF on every open:
the key is random, not a password). Wrong keys and damaged files become clear errors here.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import URL, Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from ..domain.errors import (
    DiskFullError,
    NotADatabaseError,
    ReadOnlyDataError,
    StoreError,
    WrongKeyError,
)

DB_FILENAME = "clinic.db"
PLAIN_SQLITE_MAGIC = b"SQLite format 3\x00"
# Opening a WAL database writes (the -shm index, the -wal file): with less free space than this
# a failed open is put down to the full disk, not to a damaged file.
LOW_SPACE_BYTES = 1 << 20


def key_check(key: bytes) -> str:
    """A value that tells a wrong key from a damaged file without revealing the key."""
    return hmac.new(key, b"clinic-pms key check v1", hashlib.sha256).hexdigest()[:32]


def raw_key_literal(key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("database keys are 256-bit")
    return f"x'{key.hex()}'"


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control from the driver so that BEGIN/COMMIT are ours (SQLAlchemy recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        # A wrong key is reported by our own error; SQLCipher's stderr log would only confuse.
        cur.execute("PRAGMA cipher_log_level = NONE")
        cur.execute("SELECT count(*) FROM sqlite_master").fetchone()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        # Temporary tables and sort spills stay in memory: no plaintext temp files on disk.
        cur.execute("PRAGMA temp_store=MEMORY")
        # A page-cache miss costs SQLCipher a read plus a decrypt and HMAC check of the page;
        # the build's 8 MiB cache could not hold a week of the appointment book (a thousand
        # patients' pages) and every view decrypted them again. 32 MiB is filled only as used.
        cur.execute("PRAGMA cache_size=-32768")
    finally:
        cur.close()


RELAXED = "pms_relaxed_durability"


def _on_begin(conn: Any) -> None:
    # A transaction that only records who *read* something (an access-log entry) need not
    # wait for an fsync: in WAL mode with synchronous=NORMAL it is atomic and survives a crash of
    # the process, only an OS crash or power cut may lose it. Every change keeps FULL.
    level = "NORMAL" if conn.get_execution_options().get(RELAXED) else "FULL"
    conn.exec_driver_sql(f"PRAGMA synchronous={level}")
    # IMMEDIATE: take the write lock up front so that two processes never deadlock on upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(path: Path, key: bytes) -> Engine:
    url = URL.create("sqlite+pysqlcipher", password=raw_key_literal(key), database=str(path))
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": 15},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def open_engine(path: Path, key: bytes, *, expected_check: str | None = None) -> Engine:
    """Open (or create) the encrypted database; raise a clear error if the key is wrong."""
    path = Path(path)
    if path.exists() and not (writable(path.parent) and writable(path)):
        # SQLite would open it read-only and refuse every save, and every read too (reads write
        # their access-log entry): better said once, at the start.
        raise ReadOnlyDataError(path.parent, "the clinic database cannot be opened")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            head = f.read(16)
        if head == PLAIN_SQLITE_MAGIC:
            raise NotADatabaseError(path, find_last_backup(path.parent))
        if expected_check is not None and not hmac.compare_digest(key_check(key), expected_check):
            raise WrongKeyError(path)
    engine = make_engine(path, key)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM sqlite_master"))
    except exc.DBAPIError as e:
        engine.dispose()
        cause = _unwritable_cause(path, e)
        if cause is not None:
            raise cause from None
        if expected_check is None and "not a database" in str(e.orig):
            raise WrongKeyError(path) from None
        raise NotADatabaseError(path, find_last_backup(path.parent)) from None
    return engine


def _unwritable_cause(path: Path, error: exc.DBAPIError) -> StoreError | None:
    """A full disk or a read-only folder, told as such: not as a damaged file, which would send
    a person looking for a backup to restore."""
    folder = path.parent
    if is_disk_full(error) or _free_bytes(folder) < LOW_SPACE_BYTES:
        return DiskFullError(
            f"The disk holding {folder} is full, so the clinic database cannot be opened. "
            "Nothing was changed. Free some space and start again."
        )
    if not writable(folder) or (path.exists() and not writable(path)):
        return ReadOnlyDataError(folder, "the clinic database cannot be opened")
    return None


def _refused_in(error: OSError, folder: Path) -> bool:
    """A write refused inside ``folder`` (not, say, a CA file elsewhere that cannot be read)."""
    if error.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
        return False
    if error.filename is None:
        return error.errno == errno.EROFS
    return Path(os.fsdecode(error.filename)).resolve().is_relative_to(Path(folder).resolve())


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return LOW_SPACE_BYTES


def writable(path: Path) -> bool:
    """Whether this process may write ``path`` (permissions, and a read-only mount even for an
    administrator, whom permissions do not stop)."""
    if not os.access(path, os.W_OK):
        return False
    if hasattr(os, "statvfs"):
        try:
            return not os.statvfs(path).f_flag & os.ST_RDONLY
        except OSError:
            return True
    return True


def find_last_backup(data_dir: Path) -> Path | None:
    backups = sorted((data_dir / "backups").glob("*.pmsbak"), key=lambda p: p.stat().st_mtime)
    return backups[-1] if backups else None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def is_disk_full(error: BaseException) -> bool:
    orig = getattr(error, "orig", error)
    if isinstance(orig, OSError) and orig.errno == errno.ENOSPC:
        return True
    msg = str(orig).lower()
    return "disk is full" in msg


@contextmanager
def translate_errors(folder: Path | None = None, doing: str | None = None) -> Iterator[None]:
    """Turn driver failures that a person can act on into the error tree's user errors.

    ``folder`` and ``doing``: work that writes files (a backup: "the backup was not written");
    a full disk or a refusal to write there is told in those words, also when a unit of work
    inside already told it as an unsaved change. Without them, the database's own refusals are
    told as an unsaved change."""
    full = DiskFullError(f"The disk holding {folder} is full: {doing}. Free some space and try "
                         "again.") if folder is not None and doing else DiskFullError()
    try:
        yield
    except (DiskFullError, ReadOnlyDataError) as e:
        if folder is None or not doing:
            raise
        raise (full if isinstance(e, DiskFullError) else ReadOnlyDataError(folder, doing)) from None
    except (exc.DBAPIError, sqlcipher3.dbapi2.Error) as e:  # raw: backups use the driver itself
        orig = getattr(e, "orig", e)
        if is_disk_full(e):
            raise full from None
        if isinstance(orig, sqlcipher3.dbapi2.OperationalError) and "readonly" in str(orig):
            raise ReadOnlyDataError(folder, *([doing] if doing else [])) from None
        raise
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise full from None
        if folder is not None and _refused_in(e, folder):
            raise ReadOnlyDataError(folder, *([doing] if doing else [])) from None
        raise
