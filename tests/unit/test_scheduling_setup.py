"""Setting up the book: weekly hours with split sessions, leave, appointment types; every change
synced as an upsert (nothing deleted), refused input named by field with nothing changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from pms_desktop.fhir.mapping import apply_resource, resource_for
from pms_desktop.services.scheduling_setup import RETIRED
from pms_desktop.store.models import OutboxChange, WorkingHours

MON = date(2030, 1, 7)  # a Monday; the test clinic is in Europe/Dublin (UTC+0 in winter)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def manager(actors):  # type: ignore[no-untyped-def]
    return actors[Role.PRACTICE_MANAGER]


@pytest.fixture
def rita(actors):  # type: ignore[no-untyped-def]
    return actors[Role.RECEPTION]


@pytest.fixture
def prac(ctx, manager):  # type: ignore[no-untyped-def]
    return ctx.scheduling.practitioners(manager)[0].id


def _outbox(ctx, table: str) -> list[OutboxChange]:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        return list(s.scalars(select(OutboxChange).where(OutboxChange.table_name == table)))


def test_split_sessions_shape_the_book_and_an_edit_retires_rather_than_deletes(
    ctx, manager, rita, prac, make_patient  # type: ignore[no-untyped-def]
) -> None:
    week = {d: [(time(9), time(12, 30)), (time(14), time(17))] for d in range(5)}
    saved = ctx.scheduling.set_week_hours(manager, practitioner_id=prac, week=week)
    assert len(saved) == 10
    patient = make_patient()
    with pytest.raises(ConflictError, match="not working"):  # the lunch gap
        ctx.scheduling.book(rita, patient_id=patient, practitioner_id=prac, start_at=at(7, 13))
    assert ctx.scheduling.next_free_slot(
        rita, practitioner_id=prac, after=at(7, 12, 40), duration_minutes=15) == at(7, 14)

    # Monday becomes one long session: one row is reused, the other retired (synced, kept).
    ctx.scheduling.set_week_hours(manager, practitioner_id=prac, week={0: [(time(8), time(18))]})
    monday = [h for h in ctx.scheduling.working_hours(rita, practitioner_id=prac) if h.weekday == 0]
    assert [(h.start_time, h.end_time) for h in monday] == [(time(8), time(18))]
    ctx.scheduling.book(rita, patient_id=patient, practitioner_id=prac, start_at=at(7, 13))
    with ctx.db.sessions()() as s:
        rows = list(s.scalars(select(WorkingHours).where(WorkingHours.practitioner_id == prac)))
    assert len(rows) == 10 and sum(r.valid_to == RETIRED for r in rows) == 1
    changes = _outbox(ctx, "working_hours")
    assert {c.op for c in changes} == {"upsert"} and len(changes) == 10

    # Back to two sessions: the retired row is used again, no new row.
    ctx.scheduling.set_week_hours(manager, practitioner_id=prac,
                                  week={0: [(time(9), time(12)), (time(13), time(17))]})
    with ctx.db.sessions()() as s:
        assert s.query(WorkingHours).count() == 10


def test_a_retired_session_reaches_another_workstation_through_fhir(
    ctx, manager, rita, prac  # type: ignore[no-untyped-def]
) -> None:
    ctx.scheduling.set_week_hours(
        manager, practitioner_id=prac, week={0: [(time(9), time(12)), (time(14), time(17))]})
    ctx.scheduling.set_week_hours(manager, practitioner_id=prac, week={0: [(time(9), time(12))]})
    with ctx.db.sessions()() as s, s.begin():
        retired = s.scalars(select(WorkingHours).where(WorkingHours.valid_to == RETIRED)).one()
        resource = resource_for(s, "working_hours", retired.id)
        assert resource["resourceType"] == "Schedule"
        # The other workstation still holds the afternoon session as it was.
        retired.valid_to = None
    assert len(ctx.scheduling.working_hours(rita, practitioner_id=prac)) == 2
    with ctx.db.sessions()() as s, s.begin():
        apply_resource(s, resource, server_version=2)
    hours = ctx.scheduling.working_hours(rita, practitioner_id=prac)
    assert [(h.start_time, h.end_time) for h in hours] == [(time(9), time(12))]
    view = ctx.scheduling.view(rita, first_day=MON)
    assert any(u.start_at == at(7, 12) and u.reason == "Not working" for u in view.unavailable)


def test_bad_sessions_are_named_by_field_and_nothing_changes(ctx, manager, rita, prac) -> None:  # type: ignore[no-untyped-def]
    ctx.scheduling.set_week_hours(manager, practitioner_id=prac, week={1: [(time(9), time(17))]})
    with pytest.raises(ValidationError) as e:
        ctx.scheduling.set_week_hours(manager, practitioner_id=prac, week={
            0: [(time(9), time(13)), (time(12), time(15))],  # overlaps the morning
            1: [(time(14), time(10))],  # ends before it starts
            2: [(time(9), time(12))],  # fine, but the week is all or nothing
        })
    errors = e.value.field_errors
    assert set(errors) == {"0.1", "1.0"}
    assert "Overlaps the session 09:00–13:00" in errors["0.1"]
    assert "ends (10:00) before it starts (14:00)" in errors["1.0"]
    hours = ctx.scheduling.working_hours(rita, practitioner_id=prac)
    assert [(h.weekday, h.start_time, h.end_time) for h in hours] == [(1, time(9), time(17))]


def test_leave_add_list_remove_and_refusals(ctx, manager, rita, prac, make_patient) -> None:  # type: ignore[no-untyped-def]
    patient = make_patient()
    ctx.scheduling.book(rita, patient_id=patient, practitioner_id=prac, start_at=at(9, 10))
    leave = ctx.scheduling.add_leave(manager, practitioner_id=prac, start_at=at(8, 0),
                                     end_at=at(11, 0), reason="Conference")
    assert leave.appointments_inside == 1  # still booked: someone has to move it
    with pytest.raises(ValidationError) as e:
        ctx.scheduling.add_leave(manager, practitioner_id=prac, start_at=at(12, 0),
                                 end_at=at(11, 0))
    assert set(e.value.field_errors) == {"end_at"}
    with pytest.raises(ValidationError) as e:
        ctx.scheduling.add_leave(manager, practitioner_id=prac, start_at=at(10, 0),
                                 end_at=at(14, 0))
    assert "Overlaps leave already recorded" in e.value.field_errors["start_at"]
    # The days as every screen writes them (it was 'Tue 08 Jan').
    assert "(Tue 8 Jan 00:00 to Fri 11 Jan 00:00," in e.value.field_errors["start_at"]
    with pytest.raises(ConflictError, match="on leave"):
        ctx.scheduling.book(rita, patient_id=patient, practitioner_id=prac, start_at=at(8, 11))
    assert [x.id for x in ctx.scheduling.leave(rita, practitioner_id=prac)] == [leave.id]
    assert ctx.scheduling.leave(rita, practitioner_id=prac, since=at(12, 0)) == []
    with pytest.raises(PermissionDenied):
        ctx.scheduling.cancel_leave(rita, leave_id=leave.id)

    ctx.scheduling.cancel_leave(manager, leave_id=leave.id)
    assert ctx.scheduling.leave(rita, practitioner_id=prac) == []
    ctx.scheduling.book(rita, patient_id=patient, practitioner_id=prac, start_at=at(8, 11))
    with pytest.raises(NotFound):
        ctx.scheduling.cancel_leave(manager, leave_id=leave.id)
    [change] = _outbox(ctx, "practitioner_leave")
    assert change.op == "upsert"  # the cancelled leave travels as a "free" Slot
    with ctx.db.sessions()() as s:
        assert resource_for(s, "practitioner_leave", leave.id)["status"] == "free"


def test_appointment_types_add_edit_retire_reinstate(ctx, actors, manager, rita) -> None:  # type: ignore[no-untyped-def]
    sched = ctx.scheduling
    dressing = sched.add_appointment_type(manager, name="Dressing", duration_minutes=20,
                                          colour="#A3C4BC")
    assert dressing.colour == "#a3c4bc"
    with pytest.raises(ValidationError) as e:
        sched.add_appointment_type(manager, name=" dressing ", duration_minutes=3, colour="red")
    assert set(e.value.field_errors) == {"name", "duration_minutes", "colour"}
    edited = sched.update_appointment_type(manager, type_id=dressing.id, name="Wound dressing",
                                           duration_minutes=30, colour="#a3c4bc")
    assert (edited.name, edited.duration_minutes) == ("Wound dressing", 30)
    assert any(t.id == dressing.id for t in sched.appointment_types(rita))

    sched.retire_appointment_type(actors[Role.CLINIC_ADMIN], type_id=dressing.id)
    assert all(t.id != dressing.id for t in sched.appointment_types(rita))
    listed = {t.id: t.active for t in sched.all_appointment_types(rita)}
    assert listed[dressing.id] is False
    # A new type may take the retired one's name; the old one then cannot come back as is.
    sched.add_appointment_type(manager, name="Wound dressing", duration_minutes=15)
    with pytest.raises(ValidationError, match="rename one of them first"):
        sched.reinstate_appointment_type(manager, type_id=dressing.id)
    with pytest.raises(PermissionDenied):
        sched.update_appointment_type(rita, type_id=dressing.id, name="X", duration_minutes=15,
                                      colour="#a3c4bc")
    changes = _outbox(ctx, "appointment_type")
    assert {c.op for c in changes} == {"upsert"}
    with ctx.db.sessions()() as s:
        assert resource_for(s, "appointment_type", dressing.id)["active"] is False
