"""The server's own access log: one hash chain of every call to its FHIR and sync APIs.

Appending locks the single head row (``UPDATE ... RETURNING``), so several workers append one
after another and the chain never forks. Entries hold who, what interaction, which resource
ids and the status: never resource bodies or search values (they may name a patient).

``append_many`` links several entries in one transaction (the access middleware hands it the
entries of the requests that finished while the previous write was under way): one head
update, one insert (executemany), one commit for all of them. The statements are Core ones on
the tables, built once: the ORM's unit of work and building the statements anew each time cost
three times what the database did (~1.1 -> ~0.3 ms of CPU an append on SQLite).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, update
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
    last, prev = connection.execute(_TAKE, {"count": len(many)}).one()
    seq, prev = int(last) - len(many), str(prev)
    rows = []
    for fields in many:
        seq += 1
        entry = {**fields, "seq": seq, "prev_hash": prev}
        entry["hash"] = entry_hash(entry)
        rows.append({"seq": seq, "hash": entry["hash"], "prev_hash": prev,
                     "entry": canonical(entry)})
        prev = entry["hash"]
    connection.execute(_INSERT, rows if len(rows) > 1 else rows[0])
    connection.execute(_SET_HASH, {"last": prev})
    return [row["seq"] for row in rows]
