"""Pull: the clinic's accepted changes after a cursor, oldest first, one page at a time.

Every stored version is a change with the clinic's sequence number; ``next_cursor`` is the last
sequence number in the page (the same cursor when the page is empty) and ``more`` says whether
another page is waiting; ``latest_seq`` is the clinic's latest sequence number (a client's
progress measure). Numbers increase but may skip (the central access log's AuditEvents share
the sequence and are not part of the feed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from sync_server.errors import BadRequest
from sync_server.store import resources as store
from sync_server.store.db import Database
from sync_server.store.models import ResourceVersion

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


@dataclass(frozen=True)
class Page:
    body: bytes  # the answer's JSON
    next_cursor: int
    count: int


def pull(db: Database, clinic_id: str, *, cursor: int, limit: int) -> Page:
    """A page of the feed as JSON. The stored resources are JSON text already: they go into
    the answer as they are, never parsed and written again."""
    with db.read() as session:
        rows = session.execute(select(
            ResourceVersion.seq, ResourceVersion.resource_type, ResourceVersion.resource_id,
            ResourceVersion.version, ResourceVersion.deleted, ResourceVersion.last_updated,
            ResourceVersion.content).where(
            ResourceVersion.clinic_id == clinic_id, ResourceVersion.seq > cursor,
            ResourceVersion.resource_type.not_in(NOT_SYNCED))
            .order_by(ResourceVersion.seq).limit(limit + 1)).all()
        latest = store.clinic_seq(session, clinic_id)  # one row: lets a client show progress
    page, more = rows[:limit], len(rows) > limit
    next_cursor = page[-1].seq if page else cursor
    changes = ",".join(
        f'{{"seq":{r.seq},"resource_type":{_text(r.resource_type)},"id":{_text(r.resource_id)},'
        f'"version":"{r.version}","op":"{"delete" if r.deleted else "upsert"}",'
        f'"last_updated":{_text(r.last_updated)},"resource":{r.content if r.content else "null"}}}'
        for r in page)
    body = (f'{{"changes":[{changes}],"next_cursor":{next_cursor},'
            f'"more":{"true" if more else "false"},"latest_seq":{max(latest, next_cursor)}}}')
    return Page(body.encode("utf-8"), next_cursor, len(page))


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
