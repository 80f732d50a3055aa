"""Appending to and reading the access log table, inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.chain import GENESIS, entry_hash
from ..domain.ids import new_id
from .models import AuditEntry


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
) -> AuditEntry:
    """Link a new entry to the chain. The caller's transaction (BEGIN IMMEDIATE) serialises it."""
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    when = (at or datetime.now(UTC)).astimezone(UTC)
    # Stored at microsecond precision so that the hash input survives the round trip.
    row = AuditEntry(
        seq=seq,
        id=new_id(),
        at=when,
        workstation_id=workstation_id,
        user_id=user_id,
        username=username,
        role=role,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        patient_id=patient_id,
        outcome=outcome,
        break_glass=break_glass,
        reason=reason,
        detail=json.dumps(detail, sort_keys=True) if detail else None,
        prev_hash=prev,
        hash="",
    )
    row.hash = entry_hash(entry_dict(row))
    session.add(row)
    session.flush()
    return row


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
