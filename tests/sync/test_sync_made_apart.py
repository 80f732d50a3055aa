"""A new workstation's download makes its new records' rows on the fetching thread, apart from
the session (``ResourceMap.new_records_apart``): a resource whose mapping needs the store or the
clinic key is left to be made when applied, never made differently."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pms_desktop.context import AppContext
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession

NEW_PATIENT = "33333333-3333-4333-8333-333333333333"
NEW_APPOINTMENT = "44444444-4444-4444-8444-444444444444"
NEW_STAFF = "55555555-5555-4555-8555-555555555555"


def _as_new(resource: dict[str, Any], rid: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(resource))
    copy["id"] = rid
    return copy


def _made_apart(ctx: AppContext, changes: list[dict[str, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    worker = threading.Thread(target=lambda: out.update(
        ctx.sync.rmap.new_records_apart(changes)))  # type: ignore[attr-defined]
    worker.start()
    worker.join(30)
    return out


def _without_ids(rows: Any) -> Any:
    return sorted((t, {k: v for k, v in r.items() if k != "id"}) for t, r in rows)


def test_rows_made_apart_are_those_made_when_applied_and_the_rest_are_left(
        ctx: AppContext, actors: dict[Role, StaffSession], make_patient: Any) -> None:
    rmap = ctx.sync.rmap  # type: ignore[attr-defined]
    pid = make_patient(mrn="MA-1")
    desk = actors[Role.RECEPTION]
    booked = ctx.scheduling.book(  # type: ignore[attr-defined]
        desk, patient_id=pid, practitioner_id=ctx.scheduling.practitioners(desk)[0].id,  # type: ignore[attr-defined]
        start_at=datetime(2027, 5, 4, 9, 0, tzinfo=UTC) + timedelta(days=1), duration_minutes=30)
    with ctx.db.sessions()() as s:
        patient = _as_new(rmap.resource_for(s, "patient", pid), NEW_PATIENT)
        appointment = _as_new(rmap.resource_for(s, "appointment", booked.id), NEW_APPOINTMENT)
    no_clinic = _as_new(appointment, NEW_APPOINTMENT)  # its clinic is looked up in the store
    no_clinic["extension"] = [e for e in no_clinic.get("extension", [])
                              if not e["url"].endswith("/clinic")]
    assert no_clinic["extension"] != appointment.get("extension")
    with ctx.db.sessions()() as s:  # a staff account: its credentials open with the key
        staff = _as_new(rmap.resource_for(s, "staff_user", desk.user_id), NEW_STAFF)
    username = next(e["url"] for e in staff["extension"] if e["url"].endswith("/username"))
    staff["extension"].append({"url": username.replace("/username", "/sealed-credentials"),
                               "valueBase64Binary": "AAAA"})
    changes = [{"resource_type": r["resourceType"], "id": r["id"], "version": 7, "op": "upsert",
                "resource": r} for r in (patient, appointment, staff)]

    made = _made_apart(ctx, changes)
    assert set(made) == {("Patient", NEW_PATIENT, 7), ("Appointment", NEW_APPOINTMENT, 7)}
    with ctx.db.sessions()() as s:
        for (_, _, _), record in made.items():
            resource = patient if record.table == "patient" else appointment
            applied = rmap.new_record(s, resource, 7)
            assert (record.table, record.row) == (applied.table, applied.row)
            assert _without_ids(record.children) == _without_ids(applied.children)
    assert record.children or made[("Patient", NEW_PATIENT, 7)].children  # identifiers, phone

    left = _made_apart(ctx, [{**changes[1], "resource": no_clinic}])
    assert left == {}
