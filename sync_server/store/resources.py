"""The versioned resource store: current versions, full history and the clinic change sequence.

Concurrency rule (the reason several workers are safe): every writing transaction first locks its
clinic's counter row (``SELECT ... FOR UPDATE``; on SQLite the ``BEGIN IMMEDIATE`` lock), then
locks the resource rows it reads before writing them; sequence numbers are handed out from the
locked counter and written back to it just before the commit. Locks are always taken in that
order, so writers of one clinic serialise without deadlock, a version check cannot race, and
sequence numbers become visible in increasing order (a pull never skips a change committed
late). Knows nothing of HTTP.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    Table,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from sync_server.errors import NotFound
from sync_server.fhir.search_params import IndexRow, extract
from sync_server.store import sync_only
from sync_server.store.clock import now_instant
from sync_server.store.models import (
    Base,
    Clinic,
    ResourceCurrent,
    ResourceVersion,
    SearchIndex,
)


@dataclass(frozen=True)
class Stored:
    """One version of one resource as stored (``resource`` is None for a deletion)."""

    resource_type: str
    resource_id: str
    version: int
    deleted: bool
    last_updated: str
    seq: int
    resource: dict[str, Any] | None

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'


def dumps(data: Any) -> str:
    """Compact JSON text (orjson: several times faster than ``json`` for a resource; what it
    cannot write, an integer beyond 64 bits say, goes through ``json``)."""
    try:
        return orjson.dumps(data).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def stored_from_row(row: ResourceVersion | ResourceCurrent | Row[*tuple[Any, ...]],
                    seq: int = 0) -> Stored:
    """A stored version from a model row or a Core row of the same columns (``seq`` when it
    has none)."""
    content = json.loads(row.content) if row.content else None
    return Stored(row.resource_type, row.resource_id, row.version, row.deleted,
                  row.last_updated, getattr(row, "seq", seq), content)


Key = tuple[str, str]  # (resource type, resource id)
_CHUNK = 500  # ids per IN (...) list


class ResourceWriter:
    """Writes for one clinic inside one transaction; construct it to take the clinic lock (its
    session then holds it until the transaction ends, see ``_finish_writers``).

    ``buffered=True`` (sync push) keeps the rows of every ``save`` in memory and writes them in
    a few multi-row statements at ``flush()`` (or just before the commit): one round trip per
    table per batch instead of four per resource. Reads of a buffered writer go through its
    cache (``lock_current`` fills it for a whole batch with one locked query per type), so they
    see the writer's own unflushed saves; nothing else may write the clinic's resources in the
    same transaction before ``flush()``.
    """

    def __init__(self, session: Session, clinic_id: str, *, buffered: bool = False) -> None:
        self.session = session
        self.clinic_id = clinic_id
        seq = session.execute(_LOCK_CLINIC, {"clinic": clinic_id}).scalar_one_or_none()
        if seq is None:
            raise NotFound("unknown clinic")
        # The counter row stays locked until commit, so numbers can be handed out in memory
        # and written back once, just before the commit.
        self._seq = self._committed_seq = int(seq)
        self._buffered = buffered
        # A buffered batch commits at once: its versions share one time (one clock read).
        self._stamp = now_instant() if buffered else None
        self._cache: dict[Key, Stored | None] = {}
        self._versions: list[dict[str, Any]] = []
        self._inserts: dict[Key, dict[str, Any]] = {}  # current rows new in this transaction
        self._updates: dict[Key, dict[str, Any]] = {}  # current rows that existed before
        self._index: dict[Key, list[tuple[Any, ...]]] = {}  # rows in _INDEX_COLUMNS' order
        session.info.setdefault(_WRITERS, []).append(self)  # finished by _finish_writers

    def lock_current(self, keys: Iterable[Key]) -> None:
        """Read and lock the current versions of many resources at once (one query per type;
        per 500 resources of a type on SQLite); later ``current`` calls for them are answered
        from memory.

        One type a query, ``resource_id = ANY(:ids)`` (SQLite: ``IN (...)``): SQLite cannot use
        the primary key for a row-value ``(type, id) IN (VALUES ...)`` and scanned the clinic's
        every resource for each chunk (~110 ms of CPU a 500 on a clinic of 77,000 resources,
        ~4 ms this way). On PostgreSQL the ids travel as one array parameter of a statement
        built once: an IN list was built, bound and converted id by id at each push (~4 ms of
        the server's CPU a 100-change push)."""
        by_type: dict[str, list[str]] = {}
        for key in sorted({key for key in keys if key not in self._cache}):
            by_type.setdefault(key[0], []).append(key[1])
        postgres = self.session.get_bind().dialect.name == "postgresql"
        if postgres:
            self._lock_current_postgres(by_type)
            return
        for resource_type, ids in by_type.items():
            step = _CHUNK
            for start in range(0, len(ids), step):
                chunk = ids[start:start + step]
                rows = self.session.execute(_LOCK_IN, {
                    "clinic": self.clinic_id, "type": resource_type, "ids": chunk})
                for resource_id in chunk:
                    self._cache[(resource_type, resource_id)] = None
                for row in rows:
                    self._cache[(row.resource_type, row.resource_id)] = stored_from_row(row)

    def _lock_current_postgres(self, by_type: dict[str, list[str]]) -> None:
        """``lock_current`` on PostgreSQL: one statement a type, never prepared.

        psycopg prepares a statement on the server after its fifth run, and PostgreSQL then
        keeps a generic plan, in which ``= ANY($3)`` of a parameter cannot be hashed: each of
        the clinic's rows of the type read by the scan (an unanalysed store reads them all
        through ``ix_resources_type_updated``) was compared with every id of the batch, ~2 ms
        of PostgreSQL's CPU a 100-change push on a clinic of 1,000 resources, growing with the
        clinic. Planned at each run, the array is a constant, hashed once (~0.3 ms)."""
        raw: Any = self.session.connection().connection.driver_connection
        with raw.cursor() as cursor:
            for resource_type, ids in by_type.items():
                cursor.execute(_LOCK_ANY_SQL, (self.clinic_id, resource_type, ids),
                               prepare=False)
                for resource_id in ids:
                    self._cache[(resource_type, resource_id)] = None
                for rtype, rid, version, deleted, last_updated, content in cursor:
                    self._cache[(rtype, rid)] = Stored(
                        rtype, rid, version, deleted, last_updated, 0,
                        json.loads(content) if content else None)

    def assume_absent(self, keys: Iterable[Key]) -> None:
        """Take these resources as not stored (``current`` answers None) without reading
        them. Only for a transaction that must fail if one is: a buffered writer inserts the
        current row of a resource it took as absent, and the key of ``resources`` refuses a
        second one (see ``sync.push``)."""
        for key in keys:
            self._cache.setdefault(key, None)

    def current(self, resource_type: str, resource_id: str) -> Stored | None:
        """The current version, row-locked until the transaction ends."""
        key = (resource_type, resource_id)
        if key in self._cache:
            return self._cache[key]
        row = self.session.execute(
            select(ResourceCurrent).where(*_key(self.clinic_id, resource_type, resource_id))
            .with_for_update()).scalar_one_or_none()
        stored = stored_from_row(row) if row else None
        if self._buffered:
            self._cache[key] = stored
        return stored

    def save(self, resource_type: str, resource_id: str, resource: dict[str, Any] | None,
             previous: Stored | None, *, index: list[IndexRow] | None = None) -> Stored:
        """Store the next version (a deletion when ``resource`` is None) and index it;
        ``index`` is its index rows when the caller has them (a resource of a known shape,
        see ``search_params.audit_event_rows``), else ``extract`` makes them."""
        version = previous.version + 1 if previous else 1
        seq = self._next_seq()
        stamp = self._stamp or now_instant()
        content = None
        if resource is not None:
            resource = _with_meta(resource, resource_id, version, stamp)
            content = dumps(resource)
        values = {"clinic_id": self.clinic_id, "resource_type": resource_type,
                  "resource_id": resource_id, "version": version, "deleted": resource is None,
                  "last_updated": stamp, "content": content}
        stored = Stored(resource_type, resource_id, version, resource is None, stamp, seq,
                        resource)
        key = (resource_type, resource_id)
        if self._buffered:
            self._buffer(key, values, seq, resource, index, fresh=previous is None)
            self._cache[key] = stored
            return stored
        self.session.execute(insert(ResourceVersion).values(seq=seq, **values))
        if previous is None:
            self.session.execute(insert(ResourceCurrent).values(**values))
        else:
            self.session.execute(
                update(ResourceCurrent).where(*_key(self.clinic_id, resource_type, resource_id))
                .values(version=version, deleted=resource is None, last_updated=stamp,
                        content=content).execution_options(synchronize_session=False))
        self._reindex(resource_type, resource_id, resource, index, fresh=previous is None)
        if key in self._cache:
            self._cache[key] = stored
        return stored

    def flush(self) -> None:
        """Write what a buffered writer holds: a few multi-row statements per table (Core
        inserts on the tables: the ORM's bulk insert is several times slower here)."""
        if self._versions:
            bulk_insert(self.session, core_table(ResourceVersion), self._versions)
        if self._inserts:
            bulk_insert(self.session, core_table(ResourceCurrent), list(self._inserts.values()))
        if self._updates:
            self._update_current(list(self._updates.values()))
            stale: dict[str, list[str]] = {}
            for rtype, rid in self._updates:
                stale.setdefault(rtype, []).append(rid)
            index = core_table(SearchIndex)
            for rtype, ids in stale.items():
                for start in range(0, len(ids), _CHUNK):
                    self.session.execute(delete(index).where(
                        index.c.clinic_id == self.clinic_id, index.c.resource_type == rtype,
                        index.c.resource_id.in_(ids[start:start + _CHUNK])))
        insert_tuples(self.session, core_table(SearchIndex), _INDEX_COLUMNS,
                      [row for index in self._index.values() for row in index])
        self._versions, self._inserts, self._updates, self._index = [], {}, {}, {}

    def _update_current(self, rows: list[dict[str, Any]]) -> None:
        """One executemany UPDATE of current rows (SQLite: the driver's own, see bulk_insert)."""
        connection = self.session.connection()
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.executemany(  # type: ignore[union-attr]
                "UPDATE resources SET version = ?, deleted = ?, last_updated = ?, content = ? "
                "WHERE clinic_id = ? AND resource_type = ? AND resource_id = ?",
                [(v["version"], v["deleted"], v["last_updated"], v["content"], v["clinic_id"],
                  v["resource_type"], v["resource_id"]) for v in rows])
            return
        table = core_table(ResourceCurrent)
        self.session.execute(
            update(table).where(table.c.clinic_id == bindparam("k_clinic"),
                                table.c.resource_type == bindparam("k_type"),
                                table.c.resource_id == bindparam("k_id")),
            [{"k_clinic": v["clinic_id"], "k_type": v["resource_type"],
              "k_id": v["resource_id"], "version": v["version"], "deleted": v["deleted"],
              "last_updated": v["last_updated"], "content": v["content"]} for v in rows])

    def _buffer(self, key: Key, values: dict[str, Any], seq: int,
                resource: dict[str, Any] | None, index: list[IndexRow] | None, *,
                fresh: bool) -> None:
        self._versions.append({**values, "seq": seq})
        if fresh or key in self._inserts:
            self._inserts[key] = values  # first saved in this transaction: one insert
        else:
            self._updates[key] = values  # the last version wins; old index rows go at flush
        self._index[key] = self._index_rows(key[0], key[1], resource, index)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _before_commit(self, session: Session) -> None:
        self.flush()
        if self._seq != self._committed_seq:
            session.execute(_SET_CLINIC_SEQ, {"clinic": self.clinic_id, "seq": self._seq})
            self._committed_seq = self._seq

    def _index_rows(self, resource_type: str, resource_id: str,
                    resource: dict[str, Any] | None,
                    index: list[IndexRow] | None) -> list[tuple[Any, ...]]:
        if resource is None:
            return []
        key = (self.clinic_id, resource_type, resource_id)
        return [(*key, ordinal, *row) for ordinal, row in
                enumerate(extract(resource) if index is None else index)]

    def _reindex(self, resource_type: str, resource_id: str,
                 resource: dict[str, Any] | None, index: list[IndexRow] | None, *,
                 fresh: bool) -> None:
        if not fresh:
            self.session.execute(delete(SearchIndex).where(
                SearchIndex.clinic_id == self.clinic_id,
                SearchIndex.resource_type == resource_type,
                SearchIndex.resource_id == resource_id))
        rows = self._index_rows(resource_type, resource_id, resource, index)
        if rows:
            self.session.execute(insert(SearchIndex),
                                 [dict(zip(_INDEX_COLUMNS, row, strict=True)) for row in rows])


# The writers of a session's transaction, in the order they were made (``session.info``).
# The session holds them only until its transaction ends. Before, each writer was a listener
# of its session: a reference cycle of the session, the writer and all it cached (a push's
# resources), which only the garbage collector's full passes could free; what that left
# behind in a busy server made those passes frequent and slow.
_WRITERS = "pms.resource_writers"


@event.listens_for(Session, "before_commit")
def _finish_writers(session: Session) -> None:
    """Before a commit (a savepoint's too): each writer's held rows and clinic counter."""
    for writer in session.info.get(_WRITERS, ()):
        writer._before_commit(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_writers(session: Session, transaction: Any) -> None:
    """The session's transaction is over (committed or rolled back; not a savepoint, whose
    writers go on in the enclosing transaction): its writers are let go."""
    if transaction.parent is None:
        session.info.pop(_WRITERS, None)


# A search-index row as the writer keeps it: the resource's key, the row's place among the
# resource's rows (its primary key with the resource's), then an IndexRow's fields.
_INDEX_COLUMNS = ("clinic_id", "resource_type", "resource_id", "ordinal", *IndexRow._fields)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys and only plain values (text, numbers, booleans,
    None): with COPY on PostgreSQL (its executemany sends a statement per row), with the
    driver's own executemany on SQLite (SQLAlchemy's per-row parameter handling cost more than
    the inserts). Both run in the session's transaction."""
    if not rows:
        return
    names = list(rows[0])
    values = operator.itemgetter(*names)  # one tuple a row, in C (5x a generator's speed)
    insert_tuples(session, table, names, [values(row) for row in rows] if len(names) > 1
                  else [(values(row),) for row in rows])


def insert_tuples(session: Session, table: Table, names: Sequence[str],
                  rows: list[tuple[Any, ...]]) -> None:
    """``bulk_insert`` of rows already made tuples in the order of ``names``."""
    if not rows:
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif connection.dialect.name == "sqlite":
        raw.executemany(f"INSERT INTO {quote(table.name)} ({columns}) VALUES "
                        f"({', '.join('?' * len(names))})", rows)
    else:
        session.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])


def core_table(model: type[Base]) -> Table:
    """The Core table of a model, for multi-row inserts (the ORM's bulk insert is slower)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _with_meta(resource: dict[str, Any], resource_id: str, version: int,
               stamp: str) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = stamp
    rest = {k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")}
    return {"resourceType": resource["resourceType"], "id": resource_id, "meta": meta, **rest}


def _key(clinic_id: str, resource_type: str, resource_id: str) -> Sequence[Any]:
    return (ResourceCurrent.clinic_id == clinic_id,
            ResourceCurrent.resource_type == resource_type,
            ResourceCurrent.resource_id == resource_id)


def get_current(session: Session, clinic_id: str, resource_type: str,
                resource_id: str) -> Stored | None:
    row = session.execute(select(ResourceCurrent).where(
        *_key(clinic_id, resource_type, resource_id))).scalar_one_or_none()
    return stored_from_row(row) if row else None


def get_version(session: Session, clinic_id: str, resource_type: str, resource_id: str,
                version: int) -> Stored | None:
    row = session.execute(select(ResourceVersion).where(
        ResourceVersion.clinic_id == clinic_id, ResourceVersion.resource_type == resource_type,
        ResourceVersion.resource_id == resource_id, ResourceVersion.version == version)
    ).scalar_one_or_none()
    return stored_from_row(row) if row else None


def history(session: Session, clinic_id: str, *, resource_type: str | None = None,
            resource_id: str | None = None, since: str | None = None, offset: int = 0,
            count: int = 50) -> tuple[int, list[Stored]]:
    """Versions newest first (instance, type or whole-clinic history) and their total."""
    where = [ResourceVersion.clinic_id == clinic_id]
    if resource_type is not None:
        where.append(ResourceVersion.resource_type == resource_type)
    if resource_id is not None:
        where.append(ResourceVersion.resource_id == resource_id)
    if since is not None:
        where.append(ResourceVersion.last_updated >= since)
    if sync_only.filters_type(resource_type):  # staff accounts are not for FHIR history
        where.append(sync_only.visible(ResourceVersion))
    total = session.execute(select(func.count()).select_from(ResourceVersion)
                            .where(*where)).scalar_one()
    rows = session.execute(select(ResourceVersion).where(*where)
                           .order_by(ResourceVersion.seq.desc()).offset(offset).limit(count))
    return int(total), [stored_from_row(r) for r in rows.scalars()]


def clinic_seq(session: Session, clinic_id: str) -> int:
    value = session.execute(_CLINIC_SEQ, {"clinic": clinic_id}).scalar()
    return int(value or 0)


# Statements of every write or pull, built once on the Core table (an ORM statement is set up
# anew at each execution).
_CLINICS = core_table(Clinic)
_CLINIC_SEQ = select(_CLINICS.c.change_seq).where(_CLINICS.c.id == bindparam("clinic"))
_LOCK_CLINIC = _CLINIC_SEQ.with_for_update()
_CURRENT = core_table(ResourceCurrent)
_LOCK_COLUMNS = select(_CURRENT.c.resource_type, _CURRENT.c.resource_id, _CURRENT.c.version,
                       _CURRENT.c.deleted, _CURRENT.c.last_updated, _CURRENT.c.content)
_LOCK_ANY_SQL = (
    "SELECT resource_type, resource_id, version, deleted, last_updated, content "
    "FROM resources WHERE clinic_id = %s AND resource_type = %s AND resource_id = ANY(%s) "
    "FOR UPDATE")
_LOCK_IN = _LOCK_COLUMNS.where(
    _CURRENT.c.clinic_id == bindparam("clinic"), _CURRENT.c.resource_type == bindparam("type"),
    _CURRENT.c.resource_id.in_(bindparam("ids", expanding=True))).with_for_update()
_SET_CLINIC_SEQ = update(_CLINICS).where(_CLINICS.c.id == bindparam("clinic")).values(
    change_seq=bindparam("seq"))
