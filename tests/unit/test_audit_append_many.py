"""``audit_log.append_many`` (a pulled page's entries in one insert) makes the same chain as
``append`` one by one: the verifier accepts it, the high-water mark names its last entry, and an
edited entry of the batch is caught."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from pms_desktop.audit.chain import entry_hash
from pms_desktop.services.audit_service import verify_database
from pms_desktop.store import audit_log
from pms_desktop.store.models import AuditEntry


def _applied(i: int) -> dict[str, object]:
    return {"workstation_id": "ws", "action": "sync.apply", "outcome": "success",
            "at": datetime(2024, 5, 2, 8, 1, i, 123456, tzinfo=UTC), "resource_type": "Patient",
            "resource_id": f"p{i}", "patient_id": f"p{i}", "detail": {"version": 1, "op": "upsert"}}


def test_append_many_links_the_same_chain(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        audit_log.append(s, workstation_id="ws", action="before", outcome="success")
        audit_log.append_many(s, [_applied(i) for i in range(5)])
        audit_log.append(s, workstation_id="ws", action="after", outcome="success")
        audit_log.append_many(s, [])
    with ctx.db.sessions()() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [r.action for r in rows[-7:]] == ["before", *["sync.apply"] * 5, "after"]
        for prev, row in zip(rows, rows[1:]):
            assert row.seq == prev.seq + 1 and row.prev_hash == prev.hash
            fields = {k: v for k, v in audit_log.entry_dict(row).items() if k != "hash"}
            assert row.hash == entry_hash(fields)
        assert rows[-2].patient_id == "p4" and rows[-2].detail == '{"op": "upsert", "version": 1}'
        assert audit_log.high_water(s) == (rows[-1].seq, rows[-1].hash)
        assert verify_database(s).intact


def test_an_edited_entry_of_a_batch_is_caught(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        audit_log.append_many(s, [_applied(i) for i in range(3)])
        seq = s.scalar(select(AuditEntry.seq).where(AuditEntry.resource_id == "p1"))
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(patient_id="other"))
    with ctx.db.sessions()() as s:
        report = verify_database(s)
        assert not report.intact and report.first_bad_seq == seq
