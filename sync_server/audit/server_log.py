"""The server's own access log: one hash chain of every call to its FHIR and sync APIs.

Appending locks the single head row (``UPDATE ... RETURNING``), so several workers append one
after another and the chain never forks. Entries hold who, what interaction, which resource
ids and the status: never resource bodies or search values (they may name a patient).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from sync_server.audit.chain import canonical, entry_hash
from sync_server.store.db import Database
from sync_server.store.models import ServerAuditEntry, ServerAuditHead


def append(db: Database, fields: dict[str, Any]) -> int:
    """Add one entry and return its sequence number."""
    with db.write() as session:
        return append_in(session, fields)


def append_in(session: Session, fields: dict[str, Any]) -> int:
    """``append`` inside a write transaction already open (it commits with the work)."""
    seq, prev = session.execute(
        update(ServerAuditHead).where(ServerAuditHead.id == 1)
        .values(seq=ServerAuditHead.seq + 1)
        .returning(ServerAuditHead.seq, ServerAuditHead.hash)
        .execution_options(synchronize_session=False)).one()
    entry = {**fields, "seq": int(seq), "prev_hash": str(prev)}
    entry["hash"] = entry_hash(entry)
    session.add(ServerAuditEntry(seq=int(seq), hash=entry["hash"], prev_hash=str(prev),
                                 entry=canonical(entry)))
    session.execute(update(ServerAuditHead).where(ServerAuditHead.id == 1)
                    .values(hash=entry["hash"])
                    .execution_options(synchronize_session=False))
    return int(seq)
