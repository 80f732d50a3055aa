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


def test_a_session_closed_without_commit_and_used_again_links_to_the_kept_chain(ctx) -> None:  # type: ignore[no-untyped-def]
    """``close()`` rolls back without ``after_rollback``: the head of the entry it dropped must
    not be remembered (the next entry would link to one never kept: a broken chain)."""
    kept = ctx.db.sessions()()
    try:
        _add(kept, "never committed")  # autobegun
        kept.flush()
        kept.close()
        with ctx.db.sessions()() as other, other.begin():
            _add(other, "other session")
        with kept.begin():
            _add(kept, "after the close")
    finally:
        kept.close()
    with ctx.db.sessions()() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [r.action for r in rows[-2:]] == ["other session", "after the close"]
        assert audit_log.high_water(s) == (rows[-1].seq, rows[-1].hash)
        assert verify_database(s).intact


def test_a_savepoint_rolled_back_drops_its_entries_from_the_head(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        _add(s, "before")
        with pytest.raises(RuntimeError), s.begin_nested():
            _add(s, "in a savepoint rolled back")
            s.flush()
            raise RuntimeError("the change could not be held")
        with s.begin_nested():
            _add(s, "in a savepoint kept")
        _add(s, "after")
    with ctx.db.sessions()() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [r.action for r in rows[-3:]] == ["before", "in a savepoint kept", "after"]
        assert audit_log.high_water(s) == (rows[-1].seq, rows[-1].hash)
        assert verify_database(s).intact
