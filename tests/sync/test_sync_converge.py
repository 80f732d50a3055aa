"""Two workstations edit offline, sync, and converge; the same field edited on both sides is a
conflict that keeps both values and is resolved through the service."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pms_desktop.services.patients_dto import PatientDraft
from tests.sync.sync_server_helpers import holdings

pytestmark = pytest.mark.e2e

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork")


def test_both_edit_offline_then_converge(workstations) -> None:  # type: ignore[no-untyped-def]
    a, b = workstations()
    p1 = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    p2 = b.ctx.patients.register_patient(b.actor, draft=replace(DRAFT, given="Liam",
                                                                  family="Walsh")).id
    assert a.sync.device_status().pending_changes >= 1

    a.sync.run_sync()
    b.sync.run_sync()
    a.sync.run_sync()
    # Now both hold both; edit different fields of the same patient on each side, offline.
    a.ctx.patients.update_patient(a.actor, patient_id=p2,
                                  draft=replace(DRAFT, given="Liam", family="Walsh", city="Galway"))
    b.ctx.patients.update_patient(b.actor, patient_id=p2,
                                  draft=replace(DRAFT, given="Liam", family="Walshe"))
    a.sync.run_sync()
    b.sync.run_sync()
    a.sync.run_sync()

    held_a, held_b = holdings(a.ctx), holdings(b.ctx)
    assert held_a == held_b
    assert {p1, p2} <= set(held_a)
    assert held_a[p2]["family"] == "Walshe" and held_a[p2]["city"] == "Galway"
    assert a.sync.device_status().pending_changes == 0
    assert b.sync.device_status().conflicts == 0
    assert a.sync.run_sync().digest_ok is True


def test_same_field_on_both_sides_is_a_conflict_resolved_by_a_person(workstations) -> None:  # type: ignore[no-untyped-def]
    a, b = workstations()
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    a.sync.run_sync()
    b.sync.run_sync()
    a.ctx.patients.update_patient(a.actor, patient_id=pid, draft=replace(DRAFT, city="Galway"))
    b.ctx.patients.update_patient(b.actor, patient_id=pid, draft=replace(DRAFT, city="Sligo"))
    a.sync.run_sync()
    result = b.sync.run_sync()

    assert result.new_conflicts == 1
    [conflict] = b.ctx.sync.conflicts(b.actor)
    assert conflict.kind == "field" and conflict.label == "Address"
    values = {str(conflict.local_value), str(conflict.remote_value)}
    assert any("Sligo" in v for v in values) and any("Galway" in v for v in values)

    b.ctx.sync.resolve_conflict(b.actor, conflict_id=conflict.id, choice="remote")
    assert b.ctx.sync.conflicts(b.actor) == []
    b.sync.run_sync()
    a.sync.run_sync()
    assert holdings(a.ctx)[pid]["city"] == holdings(b.ctx)[pid]["city"] == "Galway"
