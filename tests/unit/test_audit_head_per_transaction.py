"""The access log's head is remembered within one transaction only (``audit_log._head``): a
session that lives across transactions reads it again after each commit or rollback, so an entry
appended meanwhile by another session, or one rolled back, never breaks the chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pms_desktop.services.audit_service import verify_database
from pms_desktop.store import audit_log
from pms_desktop.store.models import AuditEntry


def _add(session, action: str) -> None:  # type: ignore[no-untyped-def]
    audit_log.append(session, workstation_id="ws", action=action, outcome="success")


def test_a_long_lived_session_links_after_other_writers_and_rollbacks(ctx) -> None:  # type: ignore[no-untyped-def]
    kept = ctx.db.sessions()()
    try:
        with kept.begin():
            _add(kept, "first")
        with ctx.db.sessions()() as other, other.begin():
            _add(other, "other session")
        with kept.begin():
            _add(kept, "after the other")
        with pytest.raises(RuntimeError), kept.begin():
            _add(kept, "rolled back")
            kept.flush()
            raise RuntimeError("the work failed")
        with kept.begin():
            _add(kept, "after the rollback")
    finally:
        kept.close()
    with ctx.db.sessions()() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [r.action for r in rows[-4:]] == [
            "first", "other session", "after the other", "after the rollback"]
        for prev, row in zip(rows, rows[1:], strict=False):
            assert row.seq == prev.seq + 1 and row.prev_hash == prev.hash
        assert audit_log.high_water(s) == (rows[-1].seq, rows[-1].hash)
        assert verify_database(s).intact
