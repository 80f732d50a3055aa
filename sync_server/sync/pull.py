"""Pull: the clinic's accepted changes after a cursor, oldest first, one page at a time.

Every stored version is a change with the clinic's sequence number; ``next_cursor`` is the last
sequence number in the page (the same cursor when the page is empty) and ``more`` says whether
another page is waiting; ``latest_seq`` is the clinic's latest sequence number (a client's
progress measure). Numbers increase but may skip (the central access log's AuditEvents share
the sequence and are not part of the feed).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Integer, bindparam, select

from sync_server.errors import BadRequest
from sync_server.store import resources as store
from sync_server.store.db import Database
from sync_server.store.models import ResourceVersion

NOT_SYNCED = ("AuditEvent",)

# Built once, on the Core table (an ORM statement is set up anew at each execution).
_V = store.core_table(ResourceVersion)
_PAGE = select(_V.c.seq, _V.c.resource_type, _V.c.resource_id, _V.c.version, _V.c.deleted,
               _V.c.last_updated, _V.c.content).where(
    _V.c.clinic_id == bindparam("clinic"), _V.c.seq > bindparam("cursor"),
    _V.c.resource_type.not_in(NOT_SYNCED)).order_by(_V.c.seq).limit(
    bindparam("rows", type_=Integer))


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
        rows = session.execute(_PAGE, {"clinic": clinic_id, "cursor": cursor,
                                       "rows": limit + 1}).all()
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
    """A JSON string (orjson: ``json.dumps`` with ``ensure_ascii=False`` makes an encoder at each
    call, three a change: ~60 % of a page's CPU before)."""
    return orjson.dumps(value).decode("utf-8")
