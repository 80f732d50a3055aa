"""Pull: the clinic's accepted changes after a cursor, oldest first, one page at a time.

Every stored version is a change with the clinic's sequence number; ``next_cursor`` is the last
sequence number in the page (the same cursor when the page is empty) and ``more`` says whether
another page is waiting; ``latest_seq`` is the clinic's latest sequence number (a client's
progress measure). Numbers increase but may skip (the central access log's AuditEvents share
the sequence and are not part of the feed).
"""

from __future__ import annotations

from typing import Any

from sync_server.errors import BadRequest
from sync_server.store import resources as store
from sync_server.store.db import Database

NOT_SYNCED = ("AuditEvent",)


def parse_paging(cursor: str | None, limit: str | None, *, limit_max: int) -> tuple[int, int]:
    try:
        position = int(cursor) if cursor not in (None, "") else 0
        size = int(limit) if limit not in (None, "") else min(500, limit_max)
    except ValueError as exc:
        raise BadRequest("cursor and limit must be integers") from exc
    if position < 0 or position > 2**62 or size < 1:
        raise BadRequest("cursor must be >= 0 and limit >= 1")
    return position, min(size, limit_max)


def pull(db: Database, clinic_id: str, *, cursor: int, limit: int) -> dict[str, Any]:
    with db.read() as session:
        rows = store.changes_after(session, clinic_id, cursor, limit + 1,
                                   exclude_types=NOT_SYNCED)
        latest = store.clinic_seq(session, clinic_id)  # one row: lets a client show progress
    page, more = rows[:limit], len(rows) > limit
    return {
        "changes": [{"seq": s.seq, "resource_type": s.resource_type, "id": s.resource_id,
                     "version": str(s.version), "op": "delete" if s.deleted else "upsert",
                     "last_updated": s.last_updated, "resource": s.resource} for s in page],
        "next_cursor": page[-1].seq if page else cursor,
        "more": more,
        "latest_seq": max(latest, page[-1].seq if page else cursor),
    }
