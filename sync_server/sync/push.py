"""Push: apply a workstation's batch of changes, each atomically and idempotently.

For every change the first answer is recorded with a hash of the change's body; a replay of the
same change id with the same body gets that answer verbatim, with another body a ``rejected``
answer with ``http_status`` 409 (not recorded). Each change is atomic on its own, because every
refusal is decided before the change writes anything; a rejected or conflicting change never
blocks the others. The batch commits once at the end: a lost connection before that loses
nothing (the client pushes again and nothing is duplicated). On PostgreSQL the batch is first
written taking its change ids and the resources it creates as new, without looking them up;
if one was not, the store's keys refuse it and the batch is written again after the look-ups
(``_write``).
The wire shapes are documented in ``docs/sync-protocol.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from sync_server.auth.principal import Principal
from sync_server.errors import BadRequest, ClientError, PayloadTooLarge
from sync_server.fhir.interactions import check_writable
from sync_server.fhir.outcome import operation_outcome
from sync_server.fhir.validate import check_id, validate_resource
from sync_server.store import sync_only
from sync_server.store.clock import now_instant
from sync_server.store.db import Database
from sync_server.store.models import SyncChange
from sync_server.store.resources import ResourceWriter, Stored, bulk_insert, core_table, dumps

OPS = ("upsert", "delete")


def push(db: Database, principal: Principal, body: Any, *, max_changes: int) -> dict[str, Any]:
    changes = _changes(body, max_changes)
    clinic_id = str(principal.clinic_id)
    # Hashing and validation cost the most and need no lock: done before the transaction.
    checked = [_check(change_id, change) for change_id, change in changes]
    if db.is_sqlite:  # its look-ups use the keys, cheap: no first attempt
        return _write(db, principal, clinic_id, checked, assume_new=False)
    try:
        return _write(db, principal, clinic_id, checked, assume_new=True)
    except db.integrity_errors as exc:
        if not _unique_violation(exc):
            raise
    # Something assumed new was not (a replay, a resource already stored): that attempt was
    # rolled back whole; this one looks everything up first, as every push did before.
    return _write(db, principal, clinic_id, checked, assume_new=False)


def _write(db: Database, principal: Principal, clinic_id: str, checked: list[_Checked], *,
           assume_new: bool) -> dict[str, Any]:
    """The batch's transaction. With ``assume_new`` (PostgreSQL's first attempt) the change
    ids are taken as not pushed before and the resources created with no base version as not
    stored yet, without looking either up: each would then be inserted again, and the store's
    keys (a clinic's change ids; a clinic's current resources) refuse that insert, so a wrong
    assumption fails the whole transaction, never the answers (the clinic's lock, held from
    the writer's start, keeps any other writer of the clinic out meanwhile). The look-ups cost
    ~2 ms of PostgreSQL's CPU a 100-change push in a store never analysed (a scan of the
    clinic's rows each, growing with the clinic), ~0.3 ms analysed, plus ~0.8 ms of the
    server's; nearly every push sends only new changes, most of them new resources."""
    results = []
    with db.write() as session:
        writer = ResourceWriter(session, clinic_id, buffered=True)
        seen = {} if assume_new else _seen(session, clinic_id, [c.change_id for c in checked])
        keys = [(c.fields[0], c.fields[1]) for c in checked
                if c.fields is not None and c.change_id not in seen]
        created = _created(checked) if assume_new else set()
        writer.lock_current(key for key in keys if key not in created)
        writer.assume_absent(created)
        records, stamp = [], now_instant()
        for c in checked:
            if c.change_id in seen:
                first_hash, first = seen[c.change_id]
                same = (first_hash == c.digest
                        or first_hash == legacy_request_hash(c.change))
                results.append(json.loads(first) if same else _rejected(
                    c.change_id, c.change, 409, "conflict",
                    "change_id was already used for a different change"))
                continue
            result = _one(writer, c)
            seen[c.change_id] = (c.digest, dumps(result))
            records.append({"clinic_id": clinic_id, "change_id": c.change_id,
                            "device_id": principal.id, "request_hash": c.digest,
                            "result": seen[c.change_id][1], "created_at": stamp})
            results.append(result)
        writer.flush()
        if records:  # a Core insert: the ORM's bulk insert costs several times more
            bulk_insert(session, core_table(SyncChange), records)
    return {"results": results}


def _created(checked: list[_Checked]) -> set[tuple[str, str]]:
    """The resources a first attempt takes as not stored: those of the batch's creations
    (upsert, no base version) that ``_apply`` saves whenever it finds nothing stored, so that
    a resource stored after all is always inserted again and the key of ``resources`` refuses
    it. Not a creation whose change id came earlier in the batch (answered as a replay, it
    writes nothing), nor one whose body ``_apply`` would refuse after the look-up (sealed
    credentials on another type than a staff account's): a stored resource answers either
    with a conflict, and taken as absent it would get that refusal, recorded for good."""
    out, ids = set(), set()
    for c in checked:
        first = c.change_id not in ids
        ids.add(c.change_id)
        if (first and c.fields is not None and c.fields[2] == "upsert"
                and c.fields[3] is None and _saves_when_absent(c.resource)):
            out.add((c.fields[0], c.fields[1]))
    return out


def _saves_when_absent(resource: dict[str, Any] | None) -> bool:
    try:
        sync_only.is_sync_only(resource)
    except ClientError:
        return False
    return True


def _unique_violation(exc: BaseException) -> bool:
    """A duplicate key (SQLSTATE 23505), from the driver or wrapped by SQLAlchemy."""
    return getattr(getattr(exc, "orig", None) or exc, "sqlstate", None) == "23505"


_RECORDED = core_table(SyncChange)
_SEEN_IN = select(_RECORDED.c.change_id, _RECORDED.c.request_hash, _RECORDED.c.result).where(
    _RECORDED.c.clinic_id == bindparam("clinic_id"),
    _RECORDED.c.change_id.in_(bindparam("ids", expanding=True)))


_SEEN_ANY_SQL = ("SELECT change_id, request_hash, result FROM sync_changes "
                 "WHERE clinic_id = %s AND change_id = ANY(%s)")


def _seen(session: Session, clinic_id: str, change_ids: list[str]
          ) -> dict[str, tuple[str, str]]:
    """The recorded (request hash, first answer) of the change ids already pushed.

    On PostgreSQL never prepared, as ``ResourceWriter.lock_current``: psycopg prepares a
    statement after its fifth run, and the generic plan PostgreSQL then keeps compares each
    of the clinic's recorded changes that its scan reads (an unanalysed store reads them all)
    with every id of the batch in turn; planned at each run, the array is a constant, hashed
    once. Measured (serial 100-change pushes, 4 clinics growing to 10,000 recorded changes):
    PostgreSQL's CPU 29-36 -> 21-22 ms a push."""
    ids = sorted(set(change_ids))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(_SEEN_ANY_SQL, (clinic_id, ids), prepare=False)
            return {change_id: (digest, result) for change_id, digest, result in cursor}
    rows = session.execute(_SEEN_IN, {"clinic_id": clinic_id, "ids": ids})
    return {change_id: (digest, result) for change_id, digest, result in rows}


_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch
_HEX_UUID = re.compile(r"[0-9a-f]{32}").fullmatch


def _change_id(raw: Any) -> str | None:
    """A change id in canonical form, None when it is no UUID. A JSON string of the canonical
    form (what clients send) is taken as it is (uuid.UUID costs ~10x more); also accepted, any
    case: without hyphens, in braces, after ``urn:uuid:``. Nothing else: ``uuid.UUID(str(x))``
    alone took numbers, spaces, signs, underscores and non-ASCII digits."""
    if type(raw) is not str:
        return None
    if _CANONICAL_UUID(raw):
        return raw
    text = raw.lower()
    if text.startswith("urn:uuid:"):
        text = text[len("urn:uuid:"):]
    elif text[:1] == "{" and text[-1:] == "}":
        text = text[1:-1]
    if _CANONICAL_UUID(text) or _HEX_UUID(text):
        return str(uuid.UUID(text))
    return None


def _changes(body: Any, max_changes: int) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(body, dict) or not isinstance(body.get("changes"), list):
        raise BadRequest("the body must be an object with a list of changes",
                         expression="changes")
    if len(body["changes"]) > max_changes:
        raise PayloadTooLarge(f"at most {max_changes} changes per push")
    out = []
    for index, change in enumerate(body["changes"]):
        if not isinstance(change, dict):
            raise BadRequest(f"changes[{index}] must be an object")
        change_id = _change_id(change.get("change_id"))
        if change_id is None:
            raise BadRequest(f"changes[{index}].change_id must be a UUID",
                             expression=f"changes[{index}].change_id")
        out.append((change_id, change))
    return out


def _hashed_part(change: dict[str, Any]) -> dict[str, Any]:
    body = {k: change.get(k) for k in ("resource_type", "resource_id", "op", "base_version",
                                       "resource")}
    body["base_version"] = _version_text(body["base_version"])
    return body


def request_hash(change: dict[str, Any]) -> str:
    """SHA-256 of the change's canonical JSON (sorted keys, orjson)."""
    try:
        canonical = orjson.dumps(_hashed_part(change), option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: what orjson cannot write (a huge integer)
        return legacy_request_hash(change)
    return hashlib.sha256(canonical).hexdigest()


def legacy_request_hash(change: dict[str, Any]) -> str:
    """The hash as servers before orjson recorded it (``json.dumps``: it writes a few numbers
    differently): a replay of a change pushed before an upgrade is still recognised. Only
    computed when the recorded hash differs from ``request_hash``."""
    canonical = json.dumps(_hashed_part(change), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _version_text(value: Any) -> Any:
    """Versions travel as strings ("3"); an integer 3 means the same."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Refusal(NamedTuple):
    """Why a change is refused: the answer's HTTP status, issue code and message."""

    status: int
    code: str
    message: str


@dataclass(frozen=True)
class _Checked:
    """A change checked before the transaction: its fields and validated resource, or why it
    is refused."""

    change_id: str
    change: dict[str, Any]
    digest: str
    fields: tuple[str, str, str, int | None] | None
    resource: dict[str, Any] | None
    error: _Refusal | None


def _check(change_id: str, change: dict[str, Any]) -> _Checked:
    digest = request_hash(change)
    try:
        fields = _fields(change)
        resource = None
        if fields[2] == "upsert":
            resource = validate_resource(change.get("resource"), fields[0])
            if resource.get("id", fields[1]) != fields[1]:
                raise BadRequest("resource.id differs from resource_id",
                                 expression="resource.id")
    except ClientError as exc:
        # What the answer needs, not the exception: its traceback (and its cause's) holds
        # the frames of this push, which hold the change: a cycle only the garbage collector
        # would free, and with it the whole batch.
        return _Checked(change_id, change, digest, None, None,
                        _Refusal(exc.status, exc.code, exc.message))
    return _Checked(change_id, change, digest, fields, resource, None)


def _one(writer: ResourceWriter, c: _Checked) -> dict[str, Any]:
    """Apply one change. Every refusal is raised before the change writes anything (checks
    first, then the locked read, then the write), so no savepoint is needed to undo it."""
    if c.error is not None:  # refused by the checks
        return _rejected(c.change_id, c.change, *c.error)
    try:
        return _apply(writer, c)
    except ClientError as exc:
        return _rejected(c.change_id, c.change, exc.status, exc.code, exc.message)


def _fields(change: dict[str, Any]) -> tuple[str, str, str, int | None]:
    rtype, rid, op = change.get("resource_type"), change.get("resource_id"), change.get("op")
    if not isinstance(rtype, str) or not isinstance(rid, str):
        raise BadRequest("resource_type and resource_id must be strings")
    if op not in OPS:
        raise BadRequest('op must be "upsert" or "delete"', expression="op")
    check_writable(rtype)
    check_id(rid)
    base = _version_text(change.get("base_version"))
    if base is not None and (not isinstance(base, str) or not base.isdigit() or len(base) > 9):
        raise BadRequest("base_version must be null or a version such as \"3\"",
                         expression="base_version")
    return rtype, rid, op, int(base) if base is not None else None


def _apply(writer: ResourceWriter, c: _Checked) -> dict[str, Any]:
    assert c.fields is not None
    change_id, resource = c.change_id, c.resource
    rtype, rid, op, base = c.fields
    current = writer.current(rtype, rid)
    current_version = current.version if current else None
    if base != current_version:
        return _conflict(change_id, rtype, rid, base, current)
    # A refusal below of an upsert found absent must be known to _created too: a PostgreSQL
    # push's first attempt takes its creations as absent without looking them up.
    if op == "delete" and current is None:
        raise BadRequest("nothing to delete: the resource is not known")
    if op == "delete" and current is not None and current.deleted:
        return _applied(change_id, current)
    if sync_only.is_sync_only(resource):  # a staff account: kept out of the FHIR API for good
        sync_only.mark(writer.session, writer.clinic_id, rtype, rid)
    return _applied(change_id, writer.save(rtype, rid, resource, current))


def _applied(change_id: str, stored: Stored) -> dict[str, Any]:
    return {"change_id": change_id, "status": "applied", "resource_type": stored.resource_type,
            "resource_id": stored.resource_id, "version": str(stored.version),
            "deleted": stored.deleted, "seq": stored.seq, "last_updated": stored.last_updated}


def _conflict(change_id: str, rtype: str, rid: str, base: int | None,
              current: Stored | None) -> dict[str, Any]:
    return {"change_id": change_id, "status": "conflict", "resource_type": rtype,
            "resource_id": rid, "base_version": None if base is None else str(base),
            "current_version": str(current.version) if current else None,
            "current_deleted": current.deleted if current else False,
            "current": current.resource if current else None}


def _rejected(change_id: str, change: dict[str, Any], status: int, code: str,
              message: str) -> dict[str, Any]:
    rtype, rid = change.get("resource_type"), change.get("resource_id")
    return {"change_id": change_id, "status": "rejected",
            "resource_type": rtype if isinstance(rtype, str) else None,
            "resource_id": rid if isinstance(rid, str) else None,
            "http_status": status, "outcome": operation_outcome(message, code=code)}
