"""Engine and transactions for SQLite and PostgreSQL.

``Database.read()`` opens a plain transaction; ``Database.write()`` opens one that may write:
on SQLite it starts with ``BEGIN IMMEDIATE`` so that two writers never both read and then fail
to upgrade their lock; on PostgreSQL writers serialise on row locks taken by the store
(see ``store/resources.py``). Every ``write()`` commits on success and rolls back on error.
This module knows nothing of FHIR or HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sync_server.errors import Unavailable

# How long a transaction waits for a lock another one holds before it gives up, and its request
# is answered 503 "retry later": SQLite's busy timeout, PostgreSQL's lock_timeout. A push waits
# for a lock only while another push of its clinic runs in another worker (a second or so), or
# while something holds the clinic's rows by mistake (an admin's psql session left open in a
# transaction, say); unbounded, such a push kept its slot, its clinic's turn and a connection for
# as long as that lasted, and the clinic's later pushes waited behind it. Well under the
# workstation's 30 s read timeout, so that the answer reaches it as a 503, not a timeout.
LOCK_WAIT_SECONDS = 15.0

# libpq's TCP settings for PostgreSQL connections: one whose server vanished without a reset (a
# host down, a network cut) is found dead in about a minute instead of the system's two hours,
# so a request waiting on it fails with a 503 rather than hanging. A URL that sets one keeps it.
PG_TCP = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
          "keepalives_count": "3", "tcp_user_timeout": "60000"}


def make_engine(url: str, lock_wait: float = LOCK_WAIT_SECONDS) -> Engine:
    """An engine tuned for the backend: WAL and full sync on SQLite, a small pool on PostgreSQL;
    on both, a lock is waited for ``lock_wait`` seconds at most."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": lock_wait})
        _tune_sqlite(engine, lock_wait)
        return engine
    engine = create_engine(_pg_url(url), pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    _bound_lock_waits(engine, lock_wait)
    _ping_when_idle(engine)
    return engine


def _pg_url(url: str) -> URL:
    """``url`` with libpq's TCP settings (``PG_TCP``) where it gives none of its own."""
    parsed = make_url(url)
    return parsed.update_query_dict({key: value for key, value in PG_TCP.items()
                                     if key not in parsed.query})


# Only where nothing set lock_timeout: its source is 'default'. An admin's own value, 0 (no bound)
# included, comes from the URL's options ('client'), the role or database ('user', 'database') or
# the server's configuration ('configuration file'); current_setting alone cannot tell their 0
# from the default's.
_SET_LOCK_WAIT = ("SELECT set_config('lock_timeout', %s, false) FROM pg_settings "
                  "WHERE name = 'lock_timeout' AND source = 'default'")


def _bound_lock_waits(engine: Engine, lock_wait: float) -> None:
    """A new PostgreSQL connection waits ``lock_wait`` seconds for a lock, unless something
    else sets its wait already, 0 (no bound) included (``options=-c lock_timeout=...`` in the
    URL, ``ALTER ROLE ... SET``, the server's configuration): one statement when the
    connection is made. A ``SET`` rather than the start-up ``options`` parameter, which a
    pooler such as PgBouncer refuses unless told to ignore it."""
    value = f"{round(lock_wait * 1000)}ms"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            dbapi_conn.execute(_SET_LOCK_WAIT, (value,))
        finally:
            dbapi_conn.autocommit = autocommit


# Connections a PostgreSQL pool keeps open, and how many more it opens for a moment. A worker
# under load has a transaction open for about every request it is serving (the caller's
# authentication, a push's write, the access chain's append, each in turn): 20 clinics pushing
# at once keep 10-14 busy in each of two workers. With 5 kept, the others were opened and closed
# around each request, ~70 new PostgreSQL backends (a process each, started and warmed up on
# the same cores) in 200 pushes.
POOL_SIZE = 16
POOL_OVERFLOW = 8


# A pooled PostgreSQL connection back in use after this long idle is checked first.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle (``pool_pre_ping``
    checked every checkout: a round trip for each of a request's three transactions).

    Connections die mostly while idle (a database restart or an idle timeout in a quiet
    spell): those are found here and replaced before any work (SQLAlchemy's pool takes a
    ``DisconnectionError`` from a checkout handler as "discard it and connect again"). One
    that dies while the pool is busy fails the statement that meets it: SQLAlchemy then
    invalidates every pooled connection (its "optimistic" handling), ``_translated`` answers
    503 "retry later", and the next request gets fresh connections."""
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or back from a request a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("pooled connection lost while idle") from exc


def _tune_sqlite(engine: Engine, lock_wait: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN IMMEDIATE is ours to emit.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       f"busy_timeout={round(lock_wait * 1000)}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


class Database:
    """The server's store connection: one per application, disposed on shutdown."""

    def __init__(self, url: str, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.url = url
        self.engine = make_engine(url, lock_wait)
        self.is_sqlite = url.startswith("sqlite")
        writer = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._autocommit = (None if self.is_sqlite
                            else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        # The driver's own OperationalError (psycopg's, sqlite3's), for _translated.
        self._driver_error: type[Exception] = self.engine.dialect.loaded_dbapi.OperationalError
        # What a refused insert raises: the driver's own (raw statements, COPY) or SQLAlchemy's.
        self.integrity_errors: tuple[type[Exception], ...] = (
            IntegrityError, self.engine.dialect.loaded_dbapi.IntegrityError)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translated(self._driver_error), self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with _translated(self._driver_error), self._write() as session, session.begin():
            yield session

    @contextmanager
    def read_each(self) -> Iterator[Connection]:
        """A connection whose statements each read on their own, for a caller that reads
        once: on PostgreSQL in autocommit (a statement is atomic by itself; no session, and
        none of the BEGIN and COMMIT round trips of a transaction, each of which a busy worker
        also waits for the interpreter lock to follow); on SQLite in a plain transaction."""
        if self._autocommit is None:
            with _translated(self._driver_error), self.engine.connect() as conn, conn.begin():
                yield conn
            return
        with _translated(self._driver_error), self._autocommit.connect() as conn:
            yield conn

    def statistics_warning(self) -> str | None:
        """Why PostgreSQL may plan the store's look-ups without statistics, or None.

        Its planner knows a table's size and contents only once the table is analysed, which
        autovacuum does as tables grow (it needs ``track_counts`` too). A store never analysed
        is planned as if nearly empty: a push's lock and replay look-ups then read all of a
        clinic's rows of a type instead of probing the keys, a cost that grows with the clinic
        (docs/server.md). SQLite: None (its look-ups use the keys without statistics)."""
        if self.is_sqlite:
            return None
        with _translated(self._driver_error), self.engine.connect() as conn:
            on = conn.execute(text("SELECT current_setting('autovacuum') = 'on' "
                                   "AND current_setting('track_counts') = 'on'")).scalar()
        if on:
            return None
        return ("PostgreSQL's autovacuum is off: the store's tables are never analysed, and "
                "pushes to a large clinic read all of its rows of a type; turn autovacuum on, "
                "or run ANALYZE after a clinic's first sync and regularly (docs/server.md)")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _translated(driver_error: type[Exception] = OperationalError) -> Iterator[None]:
    """Turn lock timeouts and lost connections into a 503 the client may retry: raised through
    SQLAlchemy, or by the driver itself where the store talks to it directly (psycopg's
    pipeline and unprepared statements on PostgreSQL, the SQLite driver's executemany)."""
    try:
        yield
    except (OperationalError, driver_error) as exc:
        raise Unavailable("the store is busy or unreachable; retry later") from exc
