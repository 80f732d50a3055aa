"""The server's own access log: one hash chain of every call to its FHIR and sync APIs.

Appending locks the single head row (``UPDATE ... RETURNING``), so several workers append one
after another and the chain never forks. Entries hold who, what interaction, which resource
ids and the status: never resource bodies or search values (they may name a patient).

``append_many`` links several entries in one transaction (the access middleware hands it the
entries of the requests that finished while the previous write was under way): one head
update, one insert (executemany), one commit for all of them. The statements are Core ones on
the tables, built once: the ORM's unit of work and building the statements anew each time cost
three times what the database did (~1.1 -> ~0.3 ms of CPU an append on SQLite).

On PostgreSQL the head row stays locked from its update to the commit, and every answer of
every worker waits for its entry's commit, so the transaction goes in as few round trips as it
can: the transaction's start with the head update, then the insert with the new head's hash
(psycopg's pipeline: sent together, one wait), then the commit; three instead of five. In a
busy worker each round trip also waits for the interpreter lock (up to its 5 ms switch
interval) before the next statement goes, while the other workers' appends wait for the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.orm import Session

from sync_server.audit.chain import canonical, entry_hash
from sync_server.store.db import Database
from sync_server.store.models import ServerAuditEntry, ServerAuditHead
from sync_server.store.resources import core_table

_HEAD, _ENTRIES = core_table(ServerAuditHead), core_table(ServerAuditEntry)
# Built once: SQLAlchemy then finds each statement's compiled form in its cache.
_TAKE = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("count"))
         .returning(_HEAD.c.seq, _HEAD.c.hash))
_INSERT = insert(_ENTRIES)
_SET_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("last"))


def append(db: Database, fields: dict[str, Any]) -> int:
    """Add one entry and return its sequence number."""
    with db.write() as session:
        return append_in(session, fields)


def append_many(db: Database, many: list[dict[str, Any]]) -> list[int]:
    """Add several entries, in this order, in one transaction; their sequence numbers."""
    with db.write() as session:
        return append_many_in(session, many)


def append_in(session: Session, fields: dict[str, Any]) -> int:
    """``append`` inside a write transaction already open (it commits with the work)."""
    return append_many_in(session, [fields])[0]


def append_many_in(session: Session, many: list[dict[str, Any]]) -> list[int]:
    """``append_many`` inside a write transaction already open (it commits with the work)."""
    if not many:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _append_many_pipelined(connection, many)
    last, prev = connection.execute(_TAKE, {"count": len(many)}).one()
    rows = _linked(many, int(last), str(prev))
    connection.execute(_INSERT, rows if len(rows) > 1 else rows[0])
    connection.execute(_SET_HASH, {"last": rows[-1]["hash"]})
    return [row["seq"] for row in rows]


def _linked(many: list[dict[str, Any]], last: int, prev: str) -> list[dict[str, Any]]:
    """The rows of ``many`` chained after the head ``prev`` (their last ``seq`` is ``last``)."""
    seq = last - len(many)
    rows = []
    for fields in many:
        seq += 1
        entry = {**fields, "seq": seq, "prev_hash": prev}
        entry["hash"] = entry_hash(entry)
        rows.append({"seq": seq, "hash": entry["hash"], "prev_hash": prev,
                     "entry": canonical(entry)})
        prev = entry["hash"]
    return rows


# The same statements as the Core ones above, for psycopg's pipeline (PostgreSQL).
_TAKE_SQL = "UPDATE server_audit_head SET seq = seq + %s WHERE id = 1 RETURNING seq, hash"
_INSERT_SQL = "INSERT INTO server_audit (seq, hash, prev_hash, entry) VALUES (%s, %s, %s, %s)"
_SET_HASH_SQL = "UPDATE server_audit_head SET hash = %s WHERE id = 1"


def _append_many_pipelined(connection: Connection, many: list[dict[str, Any]]) -> list[int]:
    """``append_many_in`` on PostgreSQL in two round trips: the head update (with the start of
    the transaction when it is the first statement; the row locked from here), then the insert
    and the head's new hash, sent together."""
    raw: Any = connection.connection.driver_connection
    with raw.pipeline(), raw.cursor() as cursor:
        cursor.execute(_TAKE_SQL, (len(many),))
        head = cursor.fetchone()
        if head is None:  # migrations make the row; a store without it is broken
            raise RuntimeError("the server audit head row is missing")
        rows = _linked(many, int(head[0]), str(head[1]))
        cursor.executemany(_INSERT_SQL, [(r["seq"], r["hash"], r["prev_hash"], r["entry"])
                                         for r in rows])
        cursor.execute(_SET_HASH_SQL, (rows[-1]["hash"],))
    return [row["seq"] for row in rows]
