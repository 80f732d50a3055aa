"""A pulled appointment is checked for double-bookings against every appointment of its
practitioner it overlaps, however long: the check reads only the appointments that start after
its start minus the practitioner's longest one (store index of 0006), never a fixed day.
Appointments booked here last at most 8 hours; pulled ones (another system writing to the
central store) may last days."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.store.models import SyncConflict
from pms_desktop.sync.page_apply import PageApplier
from pms_desktop.sync.remote_apply import RemoteApplier

DAY = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def _template(ctx: AppContext, actors: dict[Role, StaffSession], patient: str) -> dict[str, Any]:
    """An appointment of a practitioner as a FHIR resource (booked far away, then used as a
    template for pulled ones)."""
    desk = actors[Role.RECEPTION]
    practitioner = ctx.scheduling.practitioners(desk)[0].id  # type: ignore[attr-defined]
    booked = ctx.scheduling.book(desk, patient_id=patient,  # type: ignore[attr-defined]
                                 practitioner_id=practitioner,
                                 start_at=DAY + timedelta(days=60), duration_minutes=30)
    rmap = ctx.sync.rmap  # type: ignore[attr-defined]
    with ctx.db.sessions()() as s:
        return dict(rmap.resource_for(s, "appointment", booked.id))


def _pulled(template: dict[str, Any], rid: str, start: datetime, end: datetime) -> dict[str, Any]:
    resource = json.loads(json.dumps(template))
    resource.update(id=rid, start=start.isoformat(), end=end.isoformat())
    return resource


def _apply(ctx: AppContext, applier_class: type[RemoteApplier], resource: dict[str, Any]) -> None:
    """``resource`` pulled at version 1, as a page (``PageApplier``) or one by one."""
    with ctx.db.sessions()() as s, s.begin():
        applier = applier_class(s, ctx.sync.rmap, ctx.core.workstation_id,  # type: ignore[attr-defined]
                                lambda: datetime.now(UTC))
        change = {"resource_type": "Appointment", "id": resource["id"], "version": 1,
                  "op": "upsert", "resource": resource}
        if isinstance(applier, PageApplier):
            applier.prefetch([change])
        assert applier.apply("Appointment", resource["id"], 1, "upsert", resource)
        if isinstance(applier, PageApplier):
            applier.finish()


def _clashes(ctx: AppContext) -> list[set[str]]:
    with ctx.db.sessions()() as s:
        return [set(json.loads(c.detail or "{}").values()) for c in s.scalars(
            select(SyncConflict).where(SyncConflict.kind == "double-booking"))]


@pytest.mark.parametrize("applier_class", [PageApplier, RemoteApplier])
def test_a_pulled_appointment_inside_a_held_one_lasting_days_is_a_double_booking(
        ctx: AppContext, actors: dict[Role, StaffSession], make_patient: Any,
        applier_class: type[RemoteApplier]) -> None:
    template = _template(ctx, actors, make_patient())
    week = "11111111-1111-4111-8111-111111111111"
    _apply(ctx, applier_class, _pulled(template, week, DAY - timedelta(days=2),
                                       DAY + timedelta(days=2)))
    assert _clashes(ctx) == []
    # Two days after the long one began: a bound of one day would not read the long one.
    inside = "22222222-2222-4222-8222-222222222222"
    _apply(ctx, applier_class, _pulled(template, inside, DAY + timedelta(days=1),
                                       DAY + timedelta(days=1, minutes=30)))
    assert _clashes(ctx) == [{week, inside}]


@pytest.mark.parametrize("applier_class", [PageApplier, RemoteApplier])
def test_a_pulled_appointment_after_a_held_one_ends_is_no_double_booking(
        ctx: AppContext, actors: dict[Role, StaffSession], make_patient: Any,
        applier_class: type[RemoteApplier]) -> None:
    template = _template(ctx, actors, make_patient())
    _apply(ctx, applier_class, _pulled(template, "11111111-1111-4111-8111-111111111111",
                                       DAY - timedelta(days=2), DAY))
    _apply(ctx, applier_class, _pulled(template, "22222222-2222-4222-8222-222222222222",
                                       DAY, DAY + timedelta(minutes=30)))  # starts as it ends
    assert _clashes(ctx) == []
