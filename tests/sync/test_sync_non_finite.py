"""A number that is not finite in a record the workstation pushes (a float NaN orjson would
write as ``null``, a Decimal infinity left in a row by an older version) never reaches the
server nulled or as ``NaN``: that change is set aside with a reason naming the field, shown to
a person, and the changes behind it go."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text

from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.fhir import mapping
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import Observation, OutboxChange

pytestmark = pytest.mark.e2e

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork", phone="0871234567")


def _observations(ws: Any, pid: str) -> dict[str, Decimal | None]:
    with ws.ctx.db.sessions()() as s:
        return {o.code: o.value for o in s.scalars(select(Observation)
                                                   .where(Observation.patient_id == pid))}


def test_a_number_that_is_not_finite_is_held_back_with_its_reason(
        workstations: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = workstations()
    a.sync.run_sync()
    doc = a.as_user("drkelly")
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    recorded = {o.code: o.id for o in a.ctx.clinical.record_vitals(
        doc, patient_id=pid, values={"heart_rate": "72", "weight": "80", "temperature": "37.2"})}
    heart, weight = recorded["8867-4"], recorded["29463-7"]
    with a.ctx.db.sessions()() as s, s.begin():  # a row an older version let through (the
        s.execute(text("UPDATE observation SET value = 'Infinity' WHERE id = :id"),  # column
                  {"id": weight})  # refuses it now, so it is written as that version did)
    original = mapping.to_resource

    def to_resource(session: Any, mapper: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
        resource = original(session, mapper, row, *args, **kwargs)
        if row.id == heart:  # a float that got into the resource: orjson would write null
            resource["valueQuantity"]["value"] = float("nan")
        return resource

    monkeypatch.setattr(mapping, "to_resource", to_resource)
    result = a.sync.run_sync()
    b.sync.run_sync()

    assert result.quarantined == 2
    assert _observations(b, pid) == {"8310-5": Decimal("37.2")}  # the one behind them went
    shown = {c.resource_id: c for c in a.ctx.sync.conflicts(a.actor)}
    assert set(shown) == {heart, weight}
    for rid, value in ((heart, "nan"), (weight, "Infinity")):
        assert shown[rid].kind == "unsendable"
        assert f"not finite ({value}) at resource.valueQuantity.value" in (shown[rid].detail or "")
    with a.ctx.db.sessions()() as s:
        held = s.scalars(select(OutboxChange).where(OutboxChange.resource_id.in_([heart, weight]))
                         ).all()
        assert {c.status for c in held} == {OutboxStatus.QUARANTINED}
        assert all(c.sent_body is None for c in held)  # nothing of them left
