"""Small helpers over the ``sync_state`` key/value table and the merge bases (``sync_base``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, event, select, update
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from ..store.bulk import insert_rows
from ..store.models import SyncBase, SyncState

PULL_CURSOR = "pull_cursor"
SERVER_URL = "server_url"
CA_FILE = "ca_file"
DEVICE_ID = "device_id"
CLINIC_ID = "server_clinic_id"
LAST_SYNC = "last_sync_at"
LAST_ERROR = "last_error"
AUDIT_HEAD = "audit_shipped_seq"
AUDIT_REFUSED = "audit_refused"  # the server's refusal of the access log, until it takes it
DIGEST_OK = "digest_ok"
DIGEST_VERIFIED = "digest_verified"  # {"mark": the server's hash, "at": when both matched}
_BASES = "pms.sync_bases"  # Session.info: merge bases loaded by load_bases, until commit


def get(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(SyncState, key)
    return row.value if row is not None else default


def put(session: Session, key: str, value: str | None) -> None:
    row = session.get(SyncState, key)
    if value is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def load_bases(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Read the merge bases of many (type, id) at once (a push's answers, a pulled page):
    ``base_of`` and ``set_base`` then answer them from memory until the transaction ends,
    instead of one query each."""
    cache = _bases(session)
    wanted: dict[str, list[str]] = {}
    for key in dict.fromkeys(keys):
        if key not in cache:
            wanted.setdefault(key[0], []).append(key[1])
    for rtype, ids in wanted.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found = {b.resource_id: b for b in session.scalars(select(SyncBase).where(
                SyncBase.resource_type == rtype, SyncBase.resource_id.in_(chunk))
                .options(defer(SyncBase.resource)))}  # read when a merge needs it
            for rid in chunk:
                cache[(rtype, rid)] = found.get(rid)


def know_no_bases(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Records (type, id) known to have no merge base (``FreshTables``): ``base_of`` answers
    them from memory until the transaction ends, without a query."""
    cache = _bases(session)
    for key in keys:
        cache[key] = None


def _bases(session: Session) -> dict[tuple[str, str], SyncBase | None]:
    cache = session.info.get(_BASES)
    if cache is None:
        cache = session.info[_BASES] = {}

        def forget(*_: Any) -> None:
            session.info.pop(_BASES, None)

        event.listen(session, "after_commit", forget, once=True)
        event.listen(session, "after_rollback", forget, once=True)
    return cache


def base_of(session: Session, resource_type: str, resource_id: str) -> SyncBase | None:
    cache = session.info.get(_BASES)
    if cache is not None and (resource_type, resource_id) in cache:
        return cache[(resource_type, resource_id)]  # type: ignore[no-any-return]
    return session.scalars(select(SyncBase).where(SyncBase.resource_type == resource_type,
                                                  SyncBase.resource_id == resource_id)).first()


def base_resource(session: Session, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    row = base_of(session, resource_type, resource_id)
    return json.loads(row.resource) if row is not None else None


def add_bases(session: Session,
              bases: Iterable[tuple[str, str, int, dict[str, Any] | str]]) -> None:
    """Record the merge bases of records new here (type, id, version, resource or its
    ``base_text`` already written), none of which has a base yet, with one multi-row insert."""
    rows = [{"resource_type": rtype, "resource_id": rid, "version": version,
             "resource": _text(resource)}
            for rtype, rid, version, resource in bases]
    if rows:
        insert_rows(session, cast(Table, SyncBase.__table__), rows)
        cache = session.info.get(_BASES)
        if cache is not None:
            for row in rows:
                # Known as "no base" until now: read again (a later change of the same page,
                # the record's next version, must update this base, not add a second one).
                cache.pop((row["resource_type"], row["resource_id"]), None)


def update_bases(session: Session,
                 bases: Sequence[tuple[SyncBase, int, dict[str, Any] | str]]) -> None:
    """Move merge bases the session holds (``load_bases``) to a newer version (base, version,
    resource or its ``base_text``) with one statement of many rows, as ``set_base`` would one
    by one."""
    if not bases:
        return
    texts = [_text(resource) for _, _, resource in bases]
    session.flush()  # a base changed through the ORM before is written first, then these
    table = cast(Table, SyncBase.__table__)
    session.execute(update(table).where(
        table.c.resource_type == bindparam("b_type"),
        table.c.resource_id == bindparam("b_id")).values(
        version=bindparam("b_version"), resource=bindparam("b_resource")),
        [{"b_type": base.resource_type, "b_id": base.resource_id, "b_version": version,
          "b_resource": text} for (base, version, _), text in zip(bases, texts, strict=True)])
    for (base, version, _), text in zip(bases, texts, strict=True):
        set_committed_value(base, "version", version)  # as written: nothing left to flush
        set_committed_value(base, "resource", text)


def base_text(resource: dict[str, Any]) -> str:
    """A merge base as stored: JSON with sorted keys (orjson: the pull writes one for every
    record it adds; ``json`` for what orjson refuses, an integer beyond 64 bits)."""
    try:
        return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(resource, sort_keys=True)


def _text(resource: dict[str, Any] | str) -> str:
    return resource if isinstance(resource, str) else base_text(resource)


def set_base(session: Session, resource_type: str, resource_id: str, version: int,
             resource: dict[str, Any] | None) -> None:
    """Remember the version both sides agreed on (``None``: a tombstone)."""
    row = base_of(session, resource_type, resource_id)
    text = json.dumps(resource if resource is not None else {"deleted": True}, sort_keys=True)
    if row is None:
        row = SyncBase(resource_type=resource_type, resource_id=resource_id, version=version,
                       resource=text)
        session.add(row)
        if _BASES in session.info:
            session.info[_BASES][(resource_type, resource_id)] = row
    else:
        row.version, row.resource = version, text
