"""SchedulingService: overlap rules, override, moves, status flow, recurring, free slots, leave."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, PermissionDenied, ValidationError
from pms_desktop.store.models import AuditEntry, OutboxChange

# 2030-01-07 is a Monday; the test clinic is in Europe/Dublin (UTC+0 in winter).
MON = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def rita(actors):  # type: ignore[no-untyped-def]
    return actors[Role.RECEPTION]


@pytest.fixture
def prac(ctx, rita):  # type: ignore[no-untyped-def]
    return ctx.scheduling.practitioners(rita)[0].id


def test_book_refuses_an_overlap_with_a_clear_message(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Mary", "Murphy"), make_patient("John", "Walsh")
    ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON, duration_minutes=30)
    with pytest.raises(ConflictError) as e:
        ctx.scheduling.book(
            rita, patient_id=b, practitioner_id=prac, start_at=MON + timedelta(minutes=15)
        )
    # The day as every screen writes it (it was 'Mon 07 Jan').
    assert "already booked with Mary Murphy from 10:00 to 10:30 on Mon 7 Jan." in str(e.value)
    # Back to back is fine; touching ends do not overlap.
    ctx.scheduling.book(
        rita, patient_id=b, practitioner_id=prac, start_at=MON + timedelta(minutes=30)
    )


def test_deliberate_double_book_needs_a_reason_and_is_logged(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Mary", "Murphy"), make_patient("John", "Walsh")
    ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON)
    info = ctx.scheduling.book(
        rita, patient_id=b, practitioner_id=prac, start_at=MON, override_reason="Urgent dressing"
    )
    assert info.overbook_reason == "Urgent dressing"
    with ctx.db.sessions()() as s:
        e = s.scalars(select(AuditEntry).where(AuditEntry.resource_id == info.id)).one()
        assert (e.action, e.reason, e.patient_id) == ("schedule.book", "Urgent dressing", b)
        assert s.scalars(select(OutboxChange).where(OutboxChange.resource_id == info.id)).one()


def test_cancelled_time_is_free_again_and_cancel_needs_reason(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a = make_patient()
    appt = ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON)
    with pytest.raises(ValidationError):
        ctx.scheduling.cancel(rita, appointment_id=appt.id, reason="")
    done = ctx.scheduling.cancel(rita, appointment_id=appt.id, reason="Patient rang")
    assert (done.status, done.cancel_reason) == ("cancelled", "Patient rang")
    ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON)
    with pytest.raises(ConflictError):
        ctx.scheduling.check_in(rita, appointment_id=appt.id)


def test_move_checks_the_same_rules(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Mary", "Murphy"), make_patient("John", "Walsh")
    first = ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON)
    second = ctx.scheduling.book(
        rita, patient_id=b, practitioner_id=prac, start_at=MON + timedelta(hours=1)
    )
    with pytest.raises(ConflictError):
        ctx.scheduling.move(rita, appointment_id=second.id, start_at=MON + timedelta(minutes=5))
    moved = ctx.scheduling.move(
        rita, appointment_id=second.id, start_at=MON + timedelta(minutes=15)
    )
    assert moved.start_at == MON + timedelta(minutes=15) and moved.end_at == MON + timedelta(
        minutes=30
    )
    # Moving onto itself (a shift inside its own time) is not a clash with itself.
    ctx.scheduling.move(rita, appointment_id=first.id, start_at=MON - timedelta(minutes=5))


def test_status_flow_and_waiting_room(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a = make_patient("Mary", "Murphy")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    appt = ctx.scheduling.book(
        rita, patient_id=a, practitioner_id=prac, start_at=now, override_reason="test"
    )
    assert ctx.scheduling.waiting_room(rita) == []
    arrived = ctx.scheduling.check_in(rita, appointment_id=appt.id)
    assert arrived.status == "arrived" and arrived.arrived_at is not None
    room = ctx.scheduling.waiting_room(rita)
    assert [(w.patient_id, w.status) for w in room] == [(a, "arrived")]
    ctx.scheduling.complete(rita, appointment_id=appt.id)
    assert ctx.scheduling.waiting_room(rita) == []
    with pytest.raises(ConflictError):
        ctx.scheduling.no_show(rita, appointment_id=appt.id)


def test_recurring_books_all_or_none(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Mary", "Murphy"), make_patient("John", "Walsh")
    blocker = ctx.scheduling.book(
        rita, patient_id=b, practitioner_id=prac, start_at=MON + timedelta(weeks=4)
    )
    with pytest.raises(ConflictError) as e:
        ctx.scheduling.book_recurring(
            rita, patient_id=a, practitioner_id=prac, start_at=MON, every_weeks=2, occurrences=4
        )
    assert "not booked" in str(e.value)
    assert [x.patient_id for x in ctx.scheduling.patient_appointments(rita, patient_id=a)] == []
    ctx.scheduling.cancel(rita, appointment_id=blocker.id, reason="moved")
    made = ctx.scheduling.book_recurring(
        rita, patient_id=a, practitioner_id=prac, start_at=MON, every_weeks=2, occurrences=4
    )
    assert [m.start_at for m in made] == [MON + timedelta(weeks=2 * n) for n in range(4)]
    assert len({m.recurrence_id for m in made}) == 1


def test_recurring_keeps_wall_clock_across_daylight_saving(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a = make_patient()
    start = datetime(2030, 3, 25, 9, tzinfo=UTC)  # 09:00 in Dublin (winter)
    made = ctx.scheduling.book_recurring(
        rita, patient_id=a, practitioner_id=prac, start_at=start, every_weeks=1, occurrences=2
    )
    assert made[1].start_at == datetime(2030, 4, 1, 8, tzinfo=UTC)  # still 09:00 local (summer)


def test_working_hours_leave_and_next_free_slot(ctx, actors, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a, manager = make_patient(), actors[Role.PRACTICE_MANAGER]
    for weekday in range(5):
        ctx.scheduling.set_working_hours(
            manager, practitioner_id=prac, weekday=weekday, spans=[(time(9), time(13))]
        )
    ctx.scheduling.add_leave(
        manager,
        practitioner_id=prac,
        start_at=datetime(2030, 1, 8, tzinfo=UTC),
        end_at=datetime(2030, 1, 9, tzinfo=UTC),
        reason="Conference",
    )
    with pytest.raises(ConflictError) as e:
        ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON.replace(hour=14))
    assert "not working" in str(e.value)
    with pytest.raises(ConflictError) as e:
        ctx.scheduling.book(
            rita, patient_id=a, practitioner_id=prac, start_at=datetime(2030, 1, 8, 10, tzinfo=UTC)
        )
    assert "on leave" in str(e.value)
    ctx.scheduling.book(
        rita, patient_id=a, practitioner_id=prac, start_at=MON.replace(hour=9), duration_minutes=30
    )
    free = ctx.scheduling.next_free_slot(
        rita, practitioner_id=prac, after=MON.replace(hour=8, minute=7), duration_minutes=15
    )
    assert free == MON.replace(hour=9, minute=30)
    # Past Monday's hours: Tuesday is leave, so Wednesday when work starts.
    late = ctx.scheduling.next_free_slot(
        rita, practitioner_id=prac, after=MON.replace(hour=12, minute=50), duration_minutes=15
    )
    assert late == datetime(2030, 1, 9, 9, tzinfo=UTC)
    view = ctx.scheduling.view(rita, first_day=date(2030, 1, 7), days=2)
    reasons = {u.reason for u in view.unavailable}
    assert reasons == {"Not working", "Conference"}


def test_view_is_one_call_for_many_practitioners(ctx, rita, prac, make_patient):  # type: ignore[no-untyped-def]
    a = make_patient()
    ctx.scheduling.book(rita, patient_id=a, practitioner_id=prac, start_at=MON)
    view = ctx.scheduling.view(rita, first_day=date(2030, 1, 7), days=7)
    assert [x.patient_id for x in view.appointments] == [a]
    assert view.hours.slot_minutes == 15 and view.practitioners[0].id == prac
    assert ctx.scheduling.view(rita, first_day=date(2030, 1, 8)).appointments == ()


def test_roles_without_schedule_permission_are_refused(ctx, actors, prac, make_patient):  # type: ignore[no-untyped-def]
    from pms_desktop.domain.permissions import POLICY, Permission

    lacking = [r for r in Role if Permission.SCHEDULE not in POLICY[r]]
    for role in lacking:
        with pytest.raises(PermissionDenied):
            ctx.scheduling.book(
                actors[role], patient_id=make_patient(), practitioner_id=prac, start_at=MON
            )
