"""Digest: what the server holds for a clinic, so that a workstation can find and repair drift.

The hash is SHA-256 (hex) over the lines ``Type/id/version\\n`` of every synced resource
(tombstones included), sorted by type then id in code-point order; sorting happens here, not in
SQL, so that PostgreSQL collations cannot change it. ``items`` lists one type's ids and versions
in the same order, paged with ``after`` (an id) and ``limit``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_server.fhir.validate import check_storable_type
from sync_server.store.db import Database
from sync_server.store.models import ResourceCurrent, ResourceVersion
from sync_server.store.resources import clinic_seq
from sync_server.sync.pull import NOT_SYNCED

Row = tuple[str, str, int, bool]
CACHED_CLINICS = 1000
_cache: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()  # clinic -> (seq, digest)
_cache_lock = threading.Lock()


def _rows(db: Database, clinic_id: str, resource_type: str | None = None) -> tuple[int, list[Row]]:
    query = select(ResourceCurrent.resource_type, ResourceCurrent.resource_id,
                   ResourceCurrent.version, ResourceCurrent.deleted).where(
        ResourceCurrent.clinic_id == clinic_id,
        ResourceCurrent.resource_type.not_in(NOT_SYNCED))
    if resource_type is not None:
        query = query.where(ResourceCurrent.resource_type == resource_type)
    with db.read() as session:
        seq = clinic_seq(session, clinic_id)
        rows = [(t, i, int(v), bool(d)) for t, i, v, d in session.execute(query)]
    rows.sort(key=lambda r: (r[0], r[1]))
    return seq, rows


def _hash(rows: list[Row]) -> str:
    digest = hashlib.sha256()
    for rtype, rid, version, _ in rows:
        digest.update(f"{rtype}/{rid}/{version}\n".encode())
    return digest.hexdigest()


def _synced_since(session: Session, clinic_id: str, seq: int) -> bool:
    """Whether a version of a synced resource was stored after ``seq`` (an indexed look)."""
    return session.execute(select(ResourceVersion.seq).where(
        ResourceVersion.clinic_id == clinic_id, ResourceVersion.seq > seq,
        ResourceVersion.resource_type.not_in(NOT_SYNCED)).limit(1)).first() is not None


def clinic_digest(db: Database, clinic_id: str) -> dict[str, Any]:
    """The clinic's digest; kept per process with the clinic's sequence number, which every
    change moves, so that asking again when nothing changed reads a row or two, not every
    resource (every sync of every workstation asks)."""
    with _cache_lock:
        cached = _cache.get(clinic_id)
    with db.read() as session:
        latest = clinic_seq(session, clinic_id)
        if cached is not None and cached[0] != latest and not _synced_since(
                session, clinic_id, cached[0]):
            # Only access-log AuditEvents came since (they share the sequence, not the digest).
            cached = (latest, {**cached[1], "seq": latest})
            with _cache_lock:
                _cache[clinic_id] = cached
    if cached is not None and cached[0] == latest:
        return cached[1]
    seq, rows = _rows(db, clinic_id)
    types = {rtype: {"count": len(group), "hash": _hash(group)}
             for rtype, group in ((t, list(g)) for t, g in groupby(rows, key=lambda r: r[0]))}
    result = {"seq": seq, "count": len(rows), "hash": _hash(rows), "types": types}
    with _cache_lock:
        _cache[clinic_id] = (seq, result)
        _cache.move_to_end(clinic_id)
        while len(_cache) > CACHED_CLINICS:
            _cache.popitem(last=False)
    return result


def type_digest(db: Database, clinic_id: str, resource_type: str, *, after: str | None,
                limit: int) -> dict[str, Any]:
    check_storable_type(resource_type)
    seq, rows = _rows(db, clinic_id, resource_type)
    tail = [r for r in rows if after is None or r[1] > after]
    page = tail[:limit]
    return {
        "resource_type": resource_type, "seq": seq, "count": len(rows), "hash": _hash(rows),
        "items": [{"id": rid, "version": str(v), "deleted": d} for _, rid, v, d in page],
        "next_after": page[-1][1] if len(tail) > limit else None,
    }
