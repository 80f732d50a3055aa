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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from sync_server.errors import NotFound
from sync_server.fhir.search_params import extract
from sync_server.store import sync_only
from sync_server.store.clock import now_instant
from sync_server.store.models import Clinic, ResourceCurrent, ResourceVersion, SearchIndex


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
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def stored_from_row(row: ResourceVersion | ResourceCurrent, seq: int = 0) -> Stored:
    content = json.loads(row.content) if row.content else None
    return Stored(row.resource_type, row.resource_id, row.version, row.deleted,
                  row.last_updated, getattr(row, "seq", seq), content)


class ResourceWriter:
    """Writes for one clinic inside one transaction; construct it to take the clinic lock."""

    def __init__(self, session: Session, clinic_id: str) -> None:
        self.session = session
        self.clinic_id = clinic_id
        seq = session.execute(select(Clinic.change_seq).where(Clinic.id == clinic_id)
                              .with_for_update()).scalar_one_or_none()
        if seq is None:
            raise NotFound("unknown clinic")
        # The counter row stays locked until commit, so numbers can be handed out in memory
        # and written back once, just before the commit.
        self._seq = self._committed_seq = int(seq)
        event.listen(session, "before_commit", self._write_seq)

    def current(self, resource_type: str, resource_id: str) -> Stored | None:
        """The current version, row-locked until the transaction ends."""
        row = self.session.execute(
            select(ResourceCurrent).where(*_key(self.clinic_id, resource_type, resource_id))
            .with_for_update()).scalar_one_or_none()
        return stored_from_row(row) if row else None

    def save(self, resource_type: str, resource_id: str, resource: dict[str, Any] | None,
             previous: Stored | None) -> Stored:
        """Store the next version (a deletion when ``resource`` is None) and index it."""
        version = previous.version + 1 if previous else 1
        seq = self._next_seq()
        stamp = now_instant()
        content = None
        if resource is not None:
            resource = _with_meta(resource, resource_id, version, stamp)
            content = dumps(resource)
        values = {"clinic_id": self.clinic_id, "resource_type": resource_type,
                  "resource_id": resource_id, "version": version, "deleted": resource is None,
                  "last_updated": stamp, "content": content}
        self.session.execute(insert(ResourceVersion).values(seq=seq, **values))
        if previous is None:
            self.session.execute(insert(ResourceCurrent).values(**values))
        else:
            self.session.execute(
                update(ResourceCurrent).where(*_key(self.clinic_id, resource_type, resource_id))
                .values(version=version, deleted=resource is None, last_updated=stamp,
                        content=content).execution_options(synchronize_session=False))
        self._reindex(resource_type, resource_id, resource, fresh=previous is None)
        return Stored(resource_type, resource_id, version, resource is None, stamp, seq, resource)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _write_seq(self, session: Session) -> None:
        if self._seq != self._committed_seq:
            session.execute(update(Clinic).where(Clinic.id == self.clinic_id)
                            .values(change_seq=self._seq)
                            .execution_options(synchronize_session=False))
            self._committed_seq = self._seq

    def _reindex(self, resource_type: str, resource_id: str,
                 resource: dict[str, Any] | None, *, fresh: bool) -> None:
        if not fresh:
            self.session.execute(delete(SearchIndex).where(
                SearchIndex.clinic_id == self.clinic_id,
                SearchIndex.resource_type == resource_type,
                SearchIndex.resource_id == resource_id))
        rows = extract(resource) if resource is not None else []
        if rows:
            self.session.execute(insert(SearchIndex), [
                {"clinic_id": self.clinic_id, "resource_type": resource_type,
                 "resource_id": resource_id, "param": r.param, "text": r.text, "aux": r.aux,
                 "low": r.low, "high": r.high} for r in rows])


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


def changes_after(session: Session, clinic_id: str, cursor: int, limit: int, *,
                  exclude_types: Sequence[str] = ()) -> list[Stored]:
    """The clinic's changes with a sequence number above ``cursor``, oldest first."""
    query = select(ResourceVersion).where(ResourceVersion.clinic_id == clinic_id,
                                          ResourceVersion.seq > cursor)
    if exclude_types:
        query = query.where(ResourceVersion.resource_type.not_in(exclude_types))
    rows = session.execute(query.order_by(ResourceVersion.seq).limit(limit))
    return [stored_from_row(r) for r in rows.scalars()]


def clinic_seq(session: Session, clinic_id: str) -> int:
    value = session.execute(select(Clinic.change_seq).where(Clinic.id == clinic_id)).scalar()
    return int(value or 0)
