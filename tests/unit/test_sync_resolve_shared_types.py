"""Choosing the remote value of a conflict on a record whose FHIR type several tables share
(Basic: staff accounts and note templates; Invoice: invoices and credit notes) changes that
record, and the choice is queued to sync like any edit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from pms_desktop.domain.enums import OutboxStatus, Role
from pms_desktop.store.models import (
    Clinic,
    CreditNote,
    Invoice,
    NoteTemplate,
    OutboxChange,
    StaffUser,
    SyncConflict,
)

SD = "https://clinic-pms.example/fhir/StructureDefinition/"


def _records(ctx: Any, patient_id: str) -> dict[str, tuple[str, str, str, Any]]:
    """table -> (FHIR type, id, merge field, the remote value of that field)."""
    now = datetime.now(UTC)
    with ctx.db.sessions()() as s, s.begin():
        clinic_id = s.scalars(select(Clinic.id)).one()
        staff = s.scalars(select(StaffUser).where(StaffUser.username == "rita")).one()
        template = NoteTemplate(clinic_id=clinic_id, name="Follow-up")
        invoice = Invoice(clinic_id=clinic_id, number="INV-T-000001", patient_id=patient_id,
                          status="issued", currency="EUR", created_at=now, issued_at=now)
        s.add_all([template, invoice])
        s.flush()
        credit = CreditNote(invoice_id=invoice.id, number="CN-T-000001", reason="Typo",
                            issued_at=now, net_minor=0, tax_minor=0, total_minor=0)
        s.add(credit)
        s.flush()
        return {
            "staff_user": ("Basic", staff.id, f"extension:{SD}display-name",
                           {"valueString": "Rita Reception-Byrne"}),
            "note_template": ("Basic", template.id, f"extension:{SD}template-name",
                              {"valueString": "Review"}),
            "credit_note": ("Invoice", credit.id, f"extension:{SD}credit-reason",
                            {"valueString": "Wrong fee"}),
            "invoice": ("Invoice", invoice.id, "status", "cancelled"),
        }


def test_remote_choice_on_a_shared_type(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    records = _records(ctx, make_patient())
    for table, (rtype, rid, field, remote) in records.items():
        with ctx.db.sessions()() as s, s.begin():
            conflict = SyncConflict(kind="field", resource_type=rtype, resource_id=rid,
                                    field=field, base_value="null", local_value="null",
                                    remote_value=json.dumps(remote), remote_version=2,
                                    created_at=datetime.now(UTC))
            s.add(conflict)
            s.flush()
            conflict_id = conflict.id

        ctx.sync.resolve_conflict(actors[Role.CLINIC_ADMIN], conflict_id=conflict_id,
                                  choice="remote")

        with ctx.db.sessions()() as s:
            resource = ctx.sync.rmap.resource_for(s, table, rid)
            pending = s.scalars(select(OutboxChange).where(
                OutboxChange.resource_id == rid,
                OutboxChange.status == OutboxStatus.PENDING)).all()
            resolved = s.get(SyncConflict, conflict_id)
        if field.startswith("extension:"):
            url = field.removeprefix("extension:")
            got = {k: v for e in resource["extension"] if e["url"] == url
                   for k, v in e.items() if k != "url"}
        else:
            got = resource[field]
        assert got == remote, table
        assert [c.table_name for c in pending] == [table]
        assert resolved.resolved_at is not None and resolved.resolution == "remote"
