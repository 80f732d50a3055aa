"""The SQLCipher engine: one writer connection, WAL with ``synchronous=FULL``, foreign keys on.

The key is given as 32 raw bytes and handed to SQLCipher as a raw key (no KDF on every open:
the key is random, not a password). Wrong keys and damaged files become clear errors here.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import URL, Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from ..domain.errors import DiskFullError, NotADatabaseError, StoreError, WrongKeyError

DB_FILENAME = "clinic.db"
PLAIN_SQLITE_MAGIC = b"SQLite format 3\x00"


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
        if expected_check is None and "not a database" in str(e.orig):
            raise WrongKeyError(path) from None
        raise NotADatabaseError(path, find_last_backup(path.parent)) from None
    return engine


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
def translate_errors() -> Iterator[None]:
    """Turn driver failures that a person can act on into the error tree's user errors."""
    try:
        yield
    except exc.DBAPIError as e:
        if is_disk_full(e):
            raise DiskFullError() from None
        if isinstance(e.orig, sqlcipher3.dbapi2.OperationalError) and "readonly" in str(e.orig):
            raise StoreError(
                "The clinic data folder is read-only: the change was not saved. "
                "Ask your administrator to check the folder's permissions."
            ) from None
        raise
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise DiskFullError() from None
        raise
