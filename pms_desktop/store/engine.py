"""The SQLCipher engine: one writer connection, WAL with ``synchronous=FULL``, foreign keys on.

The key is given as 32 raw bytes and handed to SQLCipher as a raw key (no KDF on every open:
the key is random, not a password). Wrong keys and damaged files become clear errors here.

Pages are authenticated with HMAC-SHA256 (``HMAC_ALGORITHM``). Stores written before (SQLCipher
4's default, HMAC-SHA512) are converted once when opened: ``sqlcipher_export`` into a new file
beside the store, checked, synced, renamed over it (a crash leaves the old store whole, and the
next open starts again). A store that cannot be converted (no room for the copy) is opened as
it is and converted at a later open.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
# Every page written is encrypted (AES-256-CBC) and authenticated with an HMAC under a 256-bit
# key derived from the database key. HMAC-SHA256 runs on the CPU's SHA extensions and costs
# about half of HMAC-SHA512 a page (6 vs 10 us per 4 KiB page here), as strong against forgery
# (a 256-bit tag), and leaves 32 more bytes of each page for data. It is another file format:
# SQLCipher must be told before the first read, and stores made before are converted at open.
HMAC_ALGORITHM = "HMAC_SHA256"
LEGACY_HMAC_ALGORITHM = "HMAC_SHA512"  # SQLCipher 4's default: stores and backups made before
CONVERTING_SUFFIX = ".converting"  # the converted copy, renamed over the store when whole


def key_check(key: bytes) -> str:
    """A value that tells a wrong key from a damaged file without revealing the key."""
    return hmac.new(key, b"clinic-pms key check v1", hashlib.sha256).hexdigest()[:32]


def raw_key_literal(key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("database keys are 256-bit")
    return f"x'{key.hex()}'"



def _itself(value: Any) -> Any:
    return value


# The driver (pysqlite's C code) binds an exact int, float, str or bytearray at once; any other
# parameter is looked up in its adapter registry and, when none is registered, Python is asked
# for ``__adapt__``/``__conform__`` and the AttributeError cleared: ~1 microsecond for each None,
# bool or bytes bound, ten times the insert of the value (a pulled page binds hundreds of
# thousands of them). Registered, they take the registry's fast path and are bound exactly as
# before: NULL, the integer 0 or 1, a blob.
for _type, _adapter in ((type(None), _itself), (bool, int), (bytes, _itself)):
    sqlcipher3.register_adapter(_type, _adapter)

CACHE_KIB = 32 * 1024  # the page cache (filled only as used)
CHECKPOINT_PAGES = 1000  # SQLite's default: the log is copied into the store every ~4 MiB
BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES = 128 * 1024, 10_000


def bulk_writing(session: Session, on: bool) -> None:
    """Settings of the session's connection for a long run of big write transactions (a
    first pull of a whole clinic), or (``on=False``) the usual ones back, the cache freed. A
    page-cache miss costs a read, a decrypt and an HMAC check, and a pulled page adds to every
    index of its tables: a larger cache keeps them. Each checkpoint waits for an fsync of the
    store: one every ~40 MiB of log instead of every ~4."""
    conn = session.connection()
    cache, pages = (BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES) if on else (CACHE_KIB,
                                                                        CHECKPOINT_PAGES)
    conn.exec_driver_sql(f"PRAGMA cache_size=-{cache}")
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={pages}")
    if not on:
        conn.exec_driver_sql("PRAGMA shrink_memory")


class LogCheckpoints:
    """Checkpoints of the store's write-ahead log run on a thread and a connection of their
    own while one connection commits a long run of big transactions (a new workstation
    downloading the clinic), instead of inside that connection's commits: a checkpoint copies
    the log's pages into the store and waits for two fsyncs (~7 % of a first pull's thread,
    and about as long again waiting for the disk). The writer's own automatic checkpoints are
    off meanwhile (``writing``).

    A PASSIVE checkpoint (SQLite's own, as the automatic one: it never blocks the writer) is
    started after each ``committed``; it copies what the log held then. The log only starts
    again from its beginning when a transaction begins with every page of it copied, which a
    writer beginning right after its commit never sees: every ``RESTART_EVERY``-th
    ``before_begin`` waits for the checkpoint under way, so the log stays within a few
    transactions. Nothing changes what is committed or how (each commit is the writer's; a
    crash leaves a log that the next open replays, as before). ``close`` waits for the
    checkpoint under way and closes the connection."""

    RESTART_EVERY = 4

    def __init__(self, session: Session) -> None:
        engine = session.get_bind().engine
        algorithm = session.connection().exec_driver_sql(
            "PRAGMA cipher_hmac_algorithm").scalar()
        self._conn = _raw_connect(Path(str(engine.url.database)), str(engine.url.password),
                                  str(algorithm or HMAC_ALGORITHM), any_thread=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="store-checkpoint")
        self._under_way: Future[Any] | None = None
        self._begun = 0

    @classmethod
    def open(cls, session: Session) -> LogCheckpoints | None:
        """None when no second connection can be opened: the writer's own checkpoints stay."""
        try:
            return cls(session)
        except sqlcipher3.dbapi2.Error:
            return None

    @staticmethod
    def writing(session: Session) -> None:
        """The writer's own automatic checkpoints off (in its transaction: a setting of the
        connection, put back by ``bulk_writing``)."""
        session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=0")

    def _checkpoint(self) -> tuple[int, int, int] | None:
        """(busy, the log's pages, those copied), as SQLite answers; None if it failed."""
        try:
            return tuple(self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        except sqlcipher3.dbapi2.Error:  # as SQLite's automatic ones: the log is copied later
            return None

    def committed(self) -> None:
        self._under_way = self._thread.submit(self._checkpoint)  # after any under way

    def before_begin(self) -> None:
        self._begun += 1
        if self._begun % self.RESTART_EVERY == 0 and self._under_way is not None:
            self._under_way.result()

    def close(self) -> None:
        try:
            if self._under_way is not None:
                self._under_way.result()
        finally:
            self._thread.shutdown(wait=True)
            self._conn.close()


def _on_connect(dbapi_conn: Any, _record: Any, hmac_algorithm: str = HMAC_ALGORITHM) -> None:
    # Take transaction control from the driver so that BEGIN/COMMIT are ours (SQLAlchemy recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        # A wrong key is reported by our own error; SQLCipher's stderr log would only confuse.
        cur.execute("PRAGMA cipher_log_level = NONE")
        # The dialect has set the key and read nothing yet: the format must be named first.
        cur.execute(f"PRAGMA cipher_hmac_algorithm = {hmac_algorithm}")
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
        cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
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


def sync_relaxed(session: Session) -> None:
    """Make every transaction committed so far durable, the ``RELAXED`` ones too: the
    write-ahead log synced to disk (a sync of the file needs no lock and waits for no one). For
    what is about to leave the workstation (the access log the server will acknowledge): never
    lost here afterwards by an OS crash or a power cut."""
    database = session.get_bind().engine.url.database
    wal = Path(f"{database}-wal")
    if database and wal.exists():
        _fsync(wal)


def make_engine(path: Path, key: bytes, *, hmac_algorithm: str | None = None) -> Engine:
    url = URL.create("sqlite+pysqlcipher", password=raw_key_literal(key), database=str(path))
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": 15},
    )
    algorithm = hmac_algorithm or HMAC_ALGORITHM
    event.listen(engine, "connect", lambda c, r: _on_connect(c, r, algorithm))
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
    drop_conversion_leftovers(path)
    engine = _try_open(path, key, HMAC_ALGORITHM)
    if isinstance(engine, Engine):
        return engine
    error = engine
    if "not a database" in str(error.orig):
        converted = convert_legacy_format(path, key)
        if converted is not None:  # the old format under this key
            algorithm = HMAC_ALGORITHM if converted else LEGACY_HMAC_ALGORITHM
            engine = _try_open(path, key, algorithm)
            if isinstance(engine, Engine):
                return engine
            error = engine
    cause = _unwritable_cause(path, error)
    if cause is not None:
        raise cause from None
    if expected_check is None and "not a database" in str(error.orig):
        raise WrongKeyError(path) from None
    raise NotADatabaseError(path, find_last_backup(path.parent)) from None


def _try_open(path: Path, key: bytes, hmac_algorithm: str) -> Engine | exc.DBAPIError:
    engine = make_engine(path, key, hmac_algorithm=hmac_algorithm)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM sqlite_master"))
    except exc.DBAPIError as e:
        engine.dispose()
        return e
    return engine


def drop_conversion_leftovers(path: Path) -> None:
    """What a conversion killed midway left: a partial copy (the store itself is untouched)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + CONVERTING_SUFFIX + suffix).unlink(missing_ok=True)


def _raw_connect(path: Path, key_literal: str, hmac_algorithm: str, *,
                 any_thread: bool = False) -> Any:
    """A driver connection of its own (``key_literal``: ``raw_key_literal`` of the key, as the
    engine's URL holds it); ``timeout`` is its busy timeout."""
    conn = sqlcipher3.connect(str(path), isolation_level=None, timeout=15,
                              check_same_thread=not any_thread)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f'PRAGMA key = "{key_literal}"')
    conn.execute(f"PRAGMA cipher_hmac_algorithm = {hmac_algorithm}")
    return conn


def convert_legacy_format(path: Path, key: bytes) -> bool | None:
    """Convert a store in the old format (HMAC-SHA512) to ``HMAC_ALGORITHM``, crash-safely.

    None: the file is not the old format under this key either (a wrong key, a damaged file).
    False: it is, but could not be converted now (no room for the copy, the file in use); it
    stays whole in the old format. True: converted.

    The old store's WAL is checkpointed into it and emptied first: the copy renamed over the
    store must never have an older WAL replayed over it. Until the rename the store is the old
    one, whole; a leftover copy is dropped at the next open, which starts again.
    """
    if not path.exists():
        return None
    copy = Path(str(path) + CONVERTING_SUFFIX)
    drop_conversion_leftovers(path)
    try:
        conn = _raw_connect(path, raw_key_literal(key), LEGACY_HMAC_ALGORITHM)
    except sqlcipher3.dbapi2.Error:
        return None
    try:
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.dbapi2.DatabaseError:
            return None
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy and busy[0]:
            return False  # another connection reads it: convert at a later open
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f'ATTACH DATABASE ? AS converted KEY "{raw_key_literal(key)}"', (str(copy),))
        conn.execute(f"PRAGMA converted.cipher_hmac_algorithm = {HMAC_ALGORITHM}")
        conn.execute("BEGIN")
        conn.execute("SELECT sqlcipher_export('converted')")
        conn.execute(f"PRAGMA converted.user_version = {user_version}")
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE converted")
    except sqlcipher3.dbapi2.Error:
        conn.close()
        drop_conversion_leftovers(path)
        return False
    conn.close()  # the last connection: SQLite removes the (empty) -wal and -shm
    try:
        check = _raw_connect(copy, raw_key_literal(key), HMAC_ALGORITHM)
        try:
            ok = check.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        finally:
            check.close()
        wal = Path(str(path) + "-wal")
        if not ok or (wal.exists() and wal.stat().st_size > 0):
            drop_conversion_leftovers(path)
            return False
        _fsync(copy)
        Path(str(path) + "-shm").unlink(missing_ok=True)
        wal.unlink(missing_ok=True)
        os.replace(copy, path)
        fsync_dir(path.parent)
    except (OSError, sqlcipher3.dbapi2.Error):
        drop_conversion_leftovers(path)
        return False
    return True


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform can sync a directory)."""
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(folder, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
