"""A deletion pulled from the server and a drift repair reach the right record when several
tables share its FHIR type (Basic: staff accounts and note templates; Invoice: invoices and
credit notes): the table is found by the record's id, not guessed from the type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.store.models import Clinic, CreditNote, Invoice, StaffUser, SyncConflict
from pms_desktop.store.outbox import record_change
from pms_desktop.sync import sync_state as st
from pms_desktop.sync.digest import DigestRepair
from pms_desktop.sync.engine import SyncReport, canonical_json
from pms_desktop.sync.remote_apply import RemoteApplier

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _invoice(ctx: Any, patient_id: str, *, version: int) -> str:
    """An issued invoice the server holds at ``version``, with a credit note beside it (so the
    Invoice type has rows in both of its tables)."""
    with ctx.db.sessions()() as s, s.begin():
        clinic_id = s.scalars(select(Clinic.id)).one()
        invoice = Invoice(clinic_id=clinic_id, number="INV-T-000001", patient_id=patient_id,
                          status="issued", currency="EUR", created_at=NOW, issued_at=NOW,
                          note="as agreed", server_version=version)
        s.add(invoice)
        s.flush()
        s.add(CreditNote(invoice_id=invoice.id, number="CN-T-000001", reason="Typo",
                         issued_at=NOW, net_minor=0, tax_minor=0, total_minor=0,
                         server_version=1))
        return invoice.id


def _applier(ctx: Any, s: Any) -> RemoteApplier:
    return RemoteApplier(s, ctx.sync.rmap, ctx.core.workstation_id, lambda: NOW)


def test_a_staff_account_deleted_elsewhere_is_retired_here(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        rita = s.scalars(select(StaffUser).where(StaffUser.username == "rita")).one()
        rita.server_version = 1
        assert _applier(ctx, s).apply("Basic", rita.id, 2, "delete", None)
    with ctx.db.sessions()() as s:
        rita = s.scalars(select(StaffUser).where(StaffUser.username == "rita")).one()
        assert not rita.active, "the tombstone went to another table than the account's"
        assert rita.server_version == 2


def test_an_invoice_deleted_elsewhere_keeps_the_local_edit_as_a_conflict(  # type: ignore[no-untyped-def]
        ctx, make_patient) -> None:
    invoice_id = _invoice(ctx, make_patient(), version=1)
    with ctx.db.sessions()() as s, s.begin():
        invoice = s.get(Invoice, invoice_id)
        invoice.note = "edited here, offline"
        record_change(s, invoice, user_id=None, now=NOW)
    with ctx.db.sessions()() as s, s.begin():
        assert _applier(ctx, s).apply("Invoice", invoice_id, 2, "delete", None)
    with ctx.db.sessions()() as s:
        conflicts = s.scalars(select(SyncConflict).where(
            SyncConflict.resource_id == invoice_id)).all()
        assert [c.kind for c in conflicts] == ["deleted"]
        assert "edited here, offline" in (conflicts[0].local_value or "")
        assert s.get(Invoice, invoice_id).server_version == 2
        from pms_desktop.store.models import OutboxChange

        pending = s.scalars(select(OutboxChange).where(
            OutboxChange.resource_id == invoice_id,
            OutboxChange.status == OutboxStatus.PENDING)).all()
        assert pending == [], "the edit of a deleted record is not pushed over the tombstone"


class _Server:
    """What the repair asks of the server: the type's id/version list and one resource."""

    def __init__(self, rtype: str, rid: str, version: int, resource: dict[str, Any]) -> None:
        self.rtype, self.rid, self.version, self.resource = rtype, rid, version, resource

    def type_digest(self, rtype: str, after: str | None) -> dict[str, Any]:
        assert rtype == self.rtype
        return {"items": [{"id": self.rid, "version": str(self.version), "deleted": False}],
                "next_after": None}

    def read(self, rtype: str, rid: str) -> dict[str, Any]:
        assert (rtype, rid) == (self.rtype, self.rid)
        return self.resource


def test_digest_repair_realigns_an_invoice_ahead_of_the_server(  # type: ignore[no-untyped-def]
        ctx, make_patient) -> None:
    """A workstation restored from a backup newer than the server's (the server's own backup was
    restored): it holds version 3 of an invoice the server has at version 2. The repair takes
    the server's version 2, content included."""
    invoice_id = _invoice(ctx, make_patient(), version=2)
    with ctx.db.sessions()() as s:  # as the server serves it: JSON
        server_copy = json.loads(canonical_json(ctx.sync.rmap.resource_for(s, "invoice",
                                                                          invoice_id)))
    with ctx.db.sessions()() as s, s.begin():
        invoice = s.get(Invoice, invoice_id)
        invoice.note, invoice.server_version = "a version the server lost", 3
        st.set_base(s, "Invoice", invoice_id, 3, None)
    engine = SimpleNamespace(sessions=ctx.db.sessions(), rmap=ctx.sync.rmap,
                             ws=ctx.core.workstation_id, now=lambda: NOW,
                             client=_Server("Invoice", invoice_id, 2, server_copy))
    repair = DigestRepair(engine)  # type: ignore[arg-type]
    report = SyncReport()
    held = repair.local()["Invoice"]
    assert held[invoice_id] == 3
    assert repair.repair("Invoice", held, report) == 1
    with ctx.db.sessions()() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.server_version, invoice.note) == (2, "as agreed")
