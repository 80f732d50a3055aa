"""The sync outbox: one pending change per record, written in the mutation's transaction.

Several local edits of one record before a push are squashed into its one pending change,
which keeps the base version of the first (DESIGN.md). A change already sent (its body is
recorded) is never altered: a retry must resend it byte for byte under the same change id, so a
later edit gets a new change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.enums import OutboxOp, OutboxStatus
from ..domain.ids import new_id
from .models import OutboxChange, SyncMixin


def record_change(
    session: Session,
    row: SyncMixin,
    *,
    user_id: str | None,
    op: OutboxOp = OutboxOp.UPSERT,
    now: datetime | None = None,
) -> OutboxChange:
    """Bump the row's sync metadata and queue (or squash into) its pending change.

    ``now``: the service clock's time (the workstation's clock, which may be hours off: it
    stamps the change, and nothing in sync orders by it)."""
    now = now or datetime.now(UTC)
    table = row.__tablename__  # type: ignore[attr-defined]
    row.updated_at = now
    row.updated_by = user_id
    if row in session.new or row.local_revision is None:
        row.local_revision = row.local_revision or 1
    else:
        row.local_revision += 1
    pending = session.scalars(
        select(OutboxChange).where(
            OutboxChange.table_name == table,
            OutboxChange.resource_id == row.id,
            OutboxChange.status == OutboxStatus.PENDING,
            OutboxChange.sent_body.is_(None),
        )
    ).first()
    if pending is not None:
        pending.local_revision = row.local_revision
        if op == OutboxOp.DELETE:
            pending.op = op
        return pending
    change = OutboxChange(
        change_id=new_id(),
        resource_type=type(row).__fhir_type__,  # type: ignore[attr-defined]
        table_name=table,
        resource_id=row.id,
        op=op,
        base_version=row.server_version,
        local_revision=row.local_revision or 1,
        created_at=now,
        status=OutboxStatus.PENDING,
    )
    session.add(change)
    return change


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(
        select(func.count()).select_from(OutboxChange)
        .where(OutboxChange.status == OutboxStatus.PENDING)
    ) or 0
