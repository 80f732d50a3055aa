"""A local change whose FHIR body cannot be built (its mapper raises: a fault of this version,
or a record it cannot express) is set aside where a person sees it, in the conflicts with the
reason, like a change the server refuses, and never holds back the changes behind it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.fhir import mapping
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import OutboxChange

pytestmark = pytest.mark.e2e

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork", phone="0871234567")


def test_a_change_that_cannot_be_sent_waits_as_a_conflict_and_the_others_go(
        workstations: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = workstations()
    a.sync.run_sync()
    broken = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    others = [a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, given=name)).id
              for name in ("Brid", "Cian")]
    original = mapping.to_resource

    def to_resource(session: Any, mapper: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
        if row.id == broken:
            raise KeyError("given")  # a mapper's fault, as a record it cannot express
        return original(session, mapper, row, *args, **kwargs)

    monkeypatch.setattr(mapping, "to_resource", to_resource)

    result = a.sync.run_sync()
    b.sync.run_sync()

    assert result.quarantined == 1
    held_by_b = {p.id for p in b.ctx.patients.search(b.actor, "Byrne")}
    assert held_by_b == set(others)  # the changes behind it went
    [shown] = a.ctx.sync.conflicts(a.actor)
    assert (shown.kind, shown.resource_id, shown.label) == ("unsendable", broken,
                                                            "Could not be sent")
    assert shown.subject == "Aoife Byrne"
    assert "could not put the record into the form the sync server takes (KeyError)" \
        in (shown.detail or "")
    assert "given" not in (shown.detail or "")  # a fault's message may hold patient data
    assert a.sync.device_status().quarantined == 1
    assert a.sync.run_sync().quarantined == 0  # told once, not at every sync
    assert len(a.ctx.sync.conflicts(a.actor)) == 1

    # Fixed (an update of the application): saving the record again sends it.
    monkeypatch.setattr(mapping, "to_resource", original)
    detail = a.ctx.patients.get_patient(a.actor, patient_id=broken)
    a.ctx.patients.update_patient(a.actor, patient_id=broken,
                                  draft=replace(detail.draft, city="Galway"))
    a.ctx.sync.resolve_conflict(a.actor, conflict_id=shown.id, choice="dismiss")
    a.sync.run_sync()
    b.sync.run_sync()
    assert b.ctx.patients.get_patient(b.actor, patient_id=broken).draft.city == "Galway"
    assert a.sync.device_status().quarantined == 0
    with a.ctx.db.sessions()() as s:
        assert s.scalars(select(OutboxChange.status).where(
            OutboxChange.status == OutboxStatus.PENDING)).all() == []
