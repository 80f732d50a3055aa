"""The access log's high-water mark (``audit_log._advance_high_water``) is kept with the
driver while the session holds no ORM object of its row, and through that object when it does:
either way every reader in the transaction, and after it, sees the last entry."""

from __future__ import annotations

import json

from sqlalchemy import delete, select

from pms_desktop.services.audit_service import verify_database
from pms_desktop.store import audit_log
from pms_desktop.store.models import AuditEntry, Setting


def _add(session, action: str) -> None:  # type: ignore[no-untyped-def]
    audit_log.append(session, workstation_id="ws", action=action, outcome="success")


def _last(session) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).one()
    return int(row[0]), str(row[1])


def test_the_mark_read_through_the_orm_midway_stays_true(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        _add(s, "first")
        held = s.get(Setting, audit_log.HIGH_WATER_KEY)  # an ORM object of the row, kept
        assert held is not None and audit_log.high_water(s) == _last(s)
        _add(s, "second")
        assert audit_log.high_water(s) == _last(s)  # the held object was moved on, not left
        assert json.loads(held.value) == {"seq": _last(s)[0], "hash": _last(s)[1]}
        _add(s, "third")
        assert audit_log.high_water(s) == _last(s)
    with ctx.db.sessions()() as s:
        assert audit_log.high_water(s) == _last(s)
        assert verify_database(s).intact


def test_a_missing_mark_is_written_by_the_next_entry(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        s.execute(delete(Setting).where(Setting.key == audit_log.HIGH_WATER_KEY))
    with ctx.db.sessions()() as s, s.begin():
        assert audit_log.high_water(s) is None
    with ctx.db.sessions()() as s, s.begin():
        _add(s, "after")
        _add(s, "and another")
    with ctx.db.sessions()() as s:
        assert audit_log.high_water(s) == _last(s)
        assert verify_database(s).intact
