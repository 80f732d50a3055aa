"""Appending to and reading the access log table, inside the caller's transaction.

Besides the chain itself, ``append`` keeps a *high-water mark* (the highest sequence number
ever written and its hash, in the ``setting`` table). It only ever moves forward along an
unbroken chain: if someone deletes the last entries and the application goes on appending,
the mark keeps naming the old head, whose hash no longer matches, so the verifier reports the
cut even though the new tail chains correctly.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from ..audit.chain import GENESIS, entry_hash
from ..domain.enums import AuditOutcome
from ..domain.ids import new_id
from .models import AuditEntry, Setting

HIGH_WATER_KEY = "audit.high_water"
_HEAD = "pms.audit_head"  # Session.info: (seq, hash) of the last entry, until the commit
_MARK = "pms.audit_mark"  # Session.info: the high-water row (ORM or plain), until the commit
_TABLE = AuditEntry.__table__
assert isinstance(_TABLE, Table)
_INSERT = _TABLE.insert()
# Entries are only ever written by ``append`` (a plain insert, executed at once), so the last
# one is read with the driver: the session can hold no entry that is not in the table yet.
_LAST = f"SELECT seq, hash FROM {_TABLE.name} ORDER BY seq DESC LIMIT 1"


def entry_dict(row: AuditEntry) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "id": row.id,
        "at": row.at.astimezone(UTC).isoformat(),
        "workstation_id": row.workstation_id,
        "user_id": row.user_id,
        "username": row.username,
        "role": row.role,
        "action": row.action,
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "patient_id": row.patient_id,
        "outcome": row.outcome,
        "break_glass": bool(row.break_glass),
        "reason": row.reason,
        "detail": row.detail,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def append(
    session: Session,
    *,
    workstation_id: str,
    action: str,
    outcome: str,
    at: datetime | None = None,
    user_id: str | None = None,
    username: str | None = None,
    role: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    patient_id: str | None = None,
    break_glass: bool = False,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Link a new entry to the chain. The caller's transaction (BEGIN IMMEDIATE) serialises it.

    The entry is inserted at once, as a plain row (no ORM object: every audited read, a patient
    search on each keystroke among them, writes one, and the ORM's unit of work for it cost
    more CPU than the read itself); it is rolled back with the transaction or savepoint it was
    written in, as before."""
    seq, prev = _head(session)
    row = _linked(seq + 1, prev, {
        "workstation_id": workstation_id, "action": action, "outcome": outcome, "at": at,
        "user_id": user_id, "username": username, "role": role,
        "resource_type": resource_type, "resource_id": resource_id, "patient_id": patient_id,
        "break_glass": break_glass, "reason": reason, "detail": detail,
    })
    session.connection().execute(_INSERT, row)
    _advance_high_water(session, row["seq"], prev, row["hash"])
    _remember(session, row["seq"], row["hash"])


def _linked(seq: int, prev: str, e: dict[str, Any]) -> dict[str, Any]:
    """The columns of entry ``seq`` (``append``'s keyword arguments in ``e``) linked after the
    entry whose hash is ``prev``, with its own hash."""
    detail = e.get("detail")
    row = {
        "seq": seq,
        "id": new_id(),
        # Stored at microsecond precision so that the hash input survives the round trip.
        "at": (e.get("at") or datetime.now(UTC)).astimezone(UTC),
        "workstation_id": e["workstation_id"],
        "user_id": e.get("user_id"),
        "username": e.get("username"),
        "role": e.get("role"),
        "action": e["action"],
        "resource_type": e.get("resource_type"),
        "resource_id": e.get("resource_id"),
        "patient_id": e.get("patient_id"),
        "outcome": e["outcome"],
        "break_glass": bool(e.get("break_glass", False)),
        "reason": e.get("reason"),
        "detail": json.dumps(detail, sort_keys=True) if detail else None,
        "prev_hash": prev,
        "hash": "",
    }
    row["hash"] = entry_hash(entry_dict(SimpleNamespace(**row)))  # type: ignore[arg-type]
    return row


def _head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the chain's last entry: read once per transaction, then remembered as
    entries are appended."""
    head = session.info.get(_HEAD)
    if head is None:
        if session.autoflush:  # as the ORM's read did: what the caller changed is written
            session.flush()
        last = session.connection().exec_driver_sql(_LAST).first()
        head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    return head


def _remember(session: Session, seq: int, hash_: str) -> None:
    session.info[_HEAD] = (seq, hash_)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """What ``_HEAD`` and ``_MARK`` remember is dropped when the transaction ends, and when a
    savepoint is rolled back (the entries it held are gone). One listener for every session,
    registered once: registering a pair on each transaction's session cost ~0.1 ms of every
    operation (SQLAlchemy joins instance listeners to the class's)."""
    info = session.info
    if _HEAD in info or _MARK in info:
        info.pop(_HEAD, None)
        info.pop(_MARK, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended: committed, rolled back, or closed with the session
    (``close()`` rolls back without ``after_rollback``: a session used again after it would
    link its next entry to one that was never kept). A released savepoint keeps the head."""
    if transaction.parent is None:
        _forget(session)


def high_water(session: Session) -> tuple[int, str] | None:
    """The highest (seq, hash) ever appended on an unbroken chain, or None before the first."""
    mark = session.get(Setting, HIGH_WATER_KEY)
    if mark is None:
        return None
    data = json.loads(mark.value)
    return int(data["seq"]), str(data["hash"])


class _PlainMark:
    """The high-water row as read and written with the driver, while the session holds no ORM
    object of it (an audited read's transaction never does): the ORM's load of the row and its
    flush of the change cost about a tenth of a patient search's CPU."""

    __slots__ = ("stored", "value")

    def __init__(self, value: str | None) -> None:
        self.stored, self.value = value is not None, value or ""

    def write(self, session: Session, value: str) -> None:
        conn = session.connection()
        if self.stored:
            conn.exec_driver_sql(_MARK_UPDATE, (value, HIGH_WATER_KEY))
        else:
            conn.exec_driver_sql(_MARK_INSERT, (HIGH_WATER_KEY, value))
            self.stored = True
        self.value = value


@functools.cache
def _mark_id() -> Any:
    """The row's identity key (made when first needed: it configures the ORM's mappers)."""
    return Session.identity_key(Setting, HIGH_WATER_KEY)


_SETTING = Setting.__tablename__
_MARK_READ = f"SELECT value FROM {_SETTING} WHERE key = ?"
_MARK_UPDATE = f"UPDATE {_SETTING} SET value = ? WHERE key = ?"
_MARK_INSERT = f"INSERT INTO {_SETTING} (key, value) VALUES (?, ?)"


def _held_by_orm(session: Session) -> bool:
    """Whether the session holds an ORM object of the high-water row (loaded, changed, deleted
    or added): then it is read and changed through that object, as the caller sees it."""
    return _mark_id() in session.identity_map or any(
        isinstance(o, Setting) and o.key == HIGH_WATER_KEY for o in session.new)


def _advance_high_water(session: Session, seq: int, prev_hash: str, new_hash: str,
                        last_seq: int | None = None) -> None:
    """``seq``/``prev_hash``: the first new entry; ``new_hash`` (and ``last_seq``, when several
    were appended): the last one."""
    mark: Setting | _PlainMark | None = session.info.get(_MARK)
    if mark is None or (isinstance(mark, _PlainMark) and _held_by_orm(session)):
        if _held_by_orm(session):
            mark = session.get(Setting, HIGH_WATER_KEY)
        else:
            row = session.connection().exec_driver_sql(_MARK_READ, (HIGH_WATER_KEY,)).first()
            mark = _PlainMark(row[0] if row else None)
    if mark is not None and (not isinstance(mark, _PlainMark) or mark.stored):
        data = json.loads(mark.value)
        # A new entry that does not extend the recorded head means the tail was cut: keep the
        # old mark as the evidence the verifier will find.
        if not (seq == int(data["seq"]) + 1 and prev_hash == data["hash"]):
            return
    elif mark is None:
        mark = Setting(key=HIGH_WATER_KEY, value="")
        session.add(mark)
    value = json.dumps({"seq": seq if last_seq is None else last_seq, "hash": new_hash})
    if isinstance(mark, _PlainMark):
        mark.write(session, value)
    else:
        mark.value = value
    session.info[_MARK] = mark  # held for the transaction (the identity map holds it weakly)


def evaluated_attempts(session: Session, *, username: str, actions: tuple[str, ...],
                       since: datetime) -> int:
    """How many sign-in attempts for ``username`` were evaluated (not refused) since ``since``.

    The access log is the record of every attempt, and it is in the database: a count taken
    from it survives a restart of the application, which a count kept in memory would not.
    """
    query = select(func.count()).select_from(AuditEntry).where(
        AuditEntry.at >= since, AuditEntry.username == username[:64],
        AuditEntry.action.in_(actions), AuditEntry.outcome != AuditOutcome.REFUSED.value)
    return int(session.execute(query).scalar_one())


def iter_entries(session: Session, batch: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield entry_dict(r)
        last = rows[-1].seq
