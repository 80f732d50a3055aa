"""What a person is shown of open sync conflicts: whose record, clinical values only to clinical
roles, and counts that drop when a refused change is dismissed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from pms_desktop.audit.chain import verify_chain
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import NotFound, PermissionDenied, ValidationError
from pms_desktop.store.audit_log import iter_entries
from pms_desktop.store.models import AuditEntry, SyncConflict


def _conflict(ctx, **values) -> str:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        row = SyncConflict(created_at=datetime.now(UTC), **values)
        s.add(row)
        s.flush()
        return str(row.id)


def test_conflicts_name_the_patient_and_hold_clinical_values_back(  # type: ignore[no-untyped-def]
        ctx, actors, make_patient) -> None:
    pid = make_patient(given="Aoife", family="Byrne")
    _conflict(ctx, kind="field", resource_type="Patient", resource_id=pid, field="gender",
              base_value='"female"', local_value='"female"', remote_value='"other"')
    clinical = _conflict(ctx, kind="field", resource_type="Condition", resource_id=pid,
                         field="note", base_value="null", local_value=json.dumps("Migraine"),
                         remote_value=json.dumps("Asthma"))
    by_rita = {c.resource_type: c for c in ctx.sync.conflicts(actors[Role.RECEPTION])}
    by_doc = {c.resource_type: c for c in ctx.sync.conflicts(actors[Role.CLINICIAN])}
    assert by_rita["Patient"].subject == "Aoife Byrne"
    assert by_rita["Patient"].remote_value == "other"
    assert by_rita["Condition"].restricted and by_rita["Condition"].local_value is None
    assert by_doc["Condition"].local_value == "Migraine" and not by_doc["Condition"].restricted
    with pytest.raises(PermissionDenied):
        ctx.sync.resolve_conflict(actors[Role.RECEPTION], conflict_id=clinical, choice="local")
    ctx.sync.resolve_conflict(actors[Role.CLINICIAN], conflict_id=clinical, choice="local")


def test_a_dismissed_refusal_stops_counting(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    pid = make_patient()
    refused = _conflict(ctx, kind="rejected", resource_type="Patient", resource_id=pid,
                        detail="birthDate: not a valid date")
    _conflict(ctx, kind="field", resource_type="Patient", resource_id=pid, field="gender",
              base_value='"female"', local_value='"female"', remote_value='"other"')
    status = ctx.sync.device_status()
    assert (status.conflicts, status.quarantined) == (1, 1)
    with pytest.raises(ValidationError):
        ctx.sync.resolve_conflict(actors[Role.RECEPTION], conflict_id=refused, choice="local")
    ctx.sync.resolve_conflict(actors[Role.RECEPTION], conflict_id=refused, choice="dismiss")
    status = ctx.sync.device_status()
    assert (status.conflicts, status.quarantined) == (1, 0)


def test_enrolment_names_a_missing_ca_file(ctx, actors, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        ctx.sync.enrol(actors[Role.CLINIC_ADMIN], server_url="https://sync.example", code="X",
                       ca_file=tmp_path / "missing.pem")
    assert set(caught.value.field_errors) == {"ca_file"}


def _refusals(ctx, since: int) -> list[tuple[str | None, str | None, str]]:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.seq > since,
                                                  AuditEntry.outcome == "refused")
                         .order_by(AuditEntry.seq)).all()
        return [(r.username, r.resource_id, json.loads(r.detail or "{}").get("refused"))
                for r in rows if r.action == "sync.resolve"]


def _last_seq(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        return int(s.scalar(select(func.max(AuditEntry.seq))) or 0)


def test_a_refused_resolve_is_in_the_access_log(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    """Reception may not decide a clinical conflict, nobody can resolve one already resolved
    elsewhere, and a choice that does not fit is refused: each refusal is in the access log
    (who, which conflict, why), and the chain stays intact."""
    pid = make_patient()
    clinical = _conflict(ctx, kind="field", resource_type="Condition", resource_id=pid,
                         field="note", base_value="null", local_value='"a"', remote_value='"b"')
    refused_change = _conflict(ctx, kind="rejected", resource_type="Patient", resource_id=pid,
                               detail="birthDate: not a valid date")
    rita, doc = actors[Role.RECEPTION], actors[Role.CLINICIAN]
    before = _last_seq(ctx)
    with pytest.raises(PermissionDenied):
        ctx.sync.resolve_conflict(rita, conflict_id=clinical, choice="local")
    ctx.sync.resolve_conflict(doc, conflict_id=clinical, choice="local")
    with pytest.raises(NotFound):  # resolved meanwhile (elsewhere)
        ctx.sync.resolve_conflict(doc, conflict_id=clinical, choice="remote")
    with pytest.raises(ValidationError):
        ctx.sync.resolve_conflict(rita, conflict_id=refused_change, choice="local")

    assert _refusals(ctx, before) == [(rita.username, clinical, "PermissionDenied"),
                                      (doc.username, clinical, "NotFound"),
                                      (rita.username, refused_change, "ValidationError")]
    with ctx.db.sessions()() as s:
        assert verify_chain(iter_entries(s)).intact
