"""What a restarted workstation must find, whatever killed the one before: shared by the tests.

Each check returns a list of problems (empty when sound), so that a test can count them for its
figures and still fail naming the first few.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pms_desktop.audit.chain import verify_chain
from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.store import audit_log
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import AuditEntry, OutboxChange


def database_problems(db: ClinicDatabase) -> list[str]:
    """``PRAGMA integrity_check`` and ``cipher_integrity_check`` (every page's HMAC)."""
    return [f"integrity: {p}" for p in db.integrity_problems()]


def audit_problems(s: Session) -> list[str]:
    """The access log verifies and its high-water mark names its last entry (nothing cut)."""
    problems = []
    report = verify_chain(audit_log.iter_entries(s))
    if not report.intact:
        problems.append(f"audit chain broken at seq {report.first_bad_seq}: {report.problem}")
    last = s.execute(select(AuditEntry.seq, AuditEntry.hash)
                     .order_by(AuditEntry.seq.desc()).limit(1)).first()
    mark = audit_log.high_water(s)
    if last is not None and mark != (last[0], last[1]):
        problems.append(f"audit high-water mark {mark} does not name the last entry {tuple(last)}")
    return problems


def audited(s: Session, action: str, ids: Iterable[str]) -> list[str]:
    """The ids among ``ids`` that have no access-log entry ``action`` naming them."""
    ids = set(ids)
    if not ids:
        return []
    found = set(s.scalars(select(AuditEntry.resource_id).where(
        AuditEntry.action == action, AuditEntry.resource_id.in_(ids))))
    return sorted(ids - found)


def outbox_problems(s: Session, model: type, ids: Iterable[str]) -> list[str]:
    """Every row's latest revision is queued for sync (the outbox entry came with the change)."""
    problems = []
    table = model.__tablename__  # type: ignore[attr-defined]
    for row_id in ids:
        row = s.get(model, row_id)
        if row is None:
            continue
        newest = s.scalar(select(func.max(OutboxChange.local_revision)).where(
            OutboxChange.table_name == table, OutboxChange.resource_id == row_id,
            OutboxChange.status.in_([OutboxStatus.PENDING, OutboxStatus.SENT])))
        if newest != row.local_revision:
            problems.append(f"{table} {row_id}: revision {row.local_revision} but the outbox "
                            f"holds {newest}")
    return problems
