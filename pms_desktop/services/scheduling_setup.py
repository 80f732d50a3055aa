"""Setting up the appointment book: practitioners' weekly hours, their leave, appointment types.

A mixin of ``SchedulingService`` (``ctx.scheduling``). Changes need ``SCHEDULE_SETUP`` (practice
managers, clinic admins); reading them needs ``SCHEDULE`` (whoever books can see them).

Nothing here is deleted, because a deletion would not reach the other workstations in the
same way as an edit: every record syncs as an upsert.

- Working hours (FHIR ``Schedule``): one row per session of a weekday. Replacing a day's
  sessions reuses its rows in place; a row no longer needed is *retired* by giving it a
  validity that ended on ``RETIRED`` (1970-01-01), so the book ignores it, and a later edit
  reuses it first (a practitioner's rows never pile up).
- Leave (FHIR ``Slot``) is removed by cancelling it (``free`` on the wire).
- Appointment types (``HealthcareService``) are retired, never removed: past appointments
  still name theirs; a retired type is not offered for new bookings.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..domain.dates import weekday_day_month_text
from ..domain.errors import NotFound, ValidationError
from ..domain.permissions import Permission
from ..store.models import (
    Appointment,
    AppointmentType,
    Clinic,
    Practitioner,
    PractitionerLeave,
    WorkingHours,
)
from . import scheduling_rules as rules
from .base import ServiceCore, UnitOfWork, operation
from .scheduling_dto import AppointmentTypeInfo, LeaveInfo, WorkingHoursInfo

SETUP = Permission.SCHEDULE_SETUP
RETIRED = date(1970, 1, 1)
MAX_SESSIONS = 6
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Spans = list[tuple[time, time]]


def _when(at: datetime) -> str:
    """'Mon 3 Nov 09:00', as the book writes a day."""
    return f"{weekday_day_month_text(at)} {at:%H:%M}"


def _clock(t: time) -> str:
    return t.strftime("%H:%M")


def span_problems(weekday: int, spans: Spans) -> dict[str, str]:
    """Field errors of one day's sessions, keyed ``"{weekday}.{index}"`` (index as given)."""
    errors: dict[str, str] = {}
    if not 0 <= weekday <= 6:
        return {f"{weekday}.0": "Choose a day of the week."}
    if len(spans) > MAX_SESSIONS:
        errors[f"{weekday}.{MAX_SESSIONS}"] = f"At most {MAX_SESSIONS} sessions a day."
    for i, (start, end) in enumerate(spans):
        if end <= start:
            errors[f"{weekday}.{i}"] = (
                f"This session ends ({_clock(end)}) before it starts ({_clock(start)})."
            )
    order = sorted((s, e, i) for i, (s, e) in enumerate(spans) if e > s)
    for (s1, e1, _i1), (s2, _e2, i2) in zip(order, order[1:], strict=False):
        if s2 < e1:
            errors.setdefault(
                f"{weekday}.{i2}", f"Overlaps the session {_clock(s1)}–{_clock(e1)}."
            )
    return errors


def _hours_info(wh: WorkingHours) -> WorkingHoursInfo:
    return WorkingHoursInfo(wh.id, wh.practitioner_id, wh.weekday, wh.start_time, wh.end_time)


def type_info(t: AppointmentType) -> AppointmentTypeInfo:
    return AppointmentTypeInfo(t.id, t.name, t.duration_minutes, t.colour, bool(t.active))


class ScheduleSetupOps:
    core: ServiceCore

    # --- working hours -------------------------------------------------------------------------

    @operation(Permission.SCHEDULE, "schedule.hours_read", resource_type="Schedule")
    def working_hours(self, uow: UnitOfWork, *, practitioner_id: str) -> list[WorkingHoursInfo]:
        """The practitioner's weekly sessions in force (retired rows left out), by day and time."""
        return [_hours_info(wh) for wh in self._current_hours(uow, practitioner_id)]

    @operation(SETUP, "schedule.hours_set", resource_type="Schedule")
    def set_working_hours(
        self, uow: UnitOfWork, *, practitioner_id: str, weekday: int, spans: Spans
    ) -> list[WorkingHoursInfo]:
        """Replace one weekday's working hours of a practitioner (empty: not working that day)."""
        return self._set_week(uow, practitioner_id, {weekday: spans})

    @operation(SETUP, "schedule.hours_set", resource_type="Schedule")
    def set_week_hours(
        self, uow: UnitOfWork, *, practitioner_id: str, week: dict[int, Spans]
    ) -> list[WorkingHoursInfo]:
        """Replace the weekdays given (0 = Monday), all or none: a bad session anywhere refuses
        the whole week, with a field error per bad session (``"{weekday}.{index}"``)."""
        return self._set_week(uow, practitioner_id, week)

    def _set_week(
        self, uow: UnitOfWork, practitioner_id: str, week: dict[int, Spans]
    ) -> list[WorkingHoursInfo]:
        self._practitioner(uow, practitioner_id)
        errors: dict[str, str] = {}
        for weekday, spans in week.items():
            errors.update(span_problems(weekday, spans))
        if errors:
            raise ValidationError(errors)
        s = uow.session
        rows = list(
            s.scalars(
                select(WorkingHours)
                .where(WorkingHours.practitioner_id == practitioner_id)
                .order_by(WorkingHours.weekday, WorkingHours.start_time, WorkingHours.id)
            )
        )
        spare = [r for r in rows if r.valid_to == RETIRED]
        for weekday, spans in week.items():
            current = [r for r in rows if r.weekday == weekday and r.valid_to != RETIRED]
            for row, (start, end) in zip(current, sorted(spans), strict=False):
                self._put(uow, row, weekday, start, end)
            for row in current[len(spans):]:
                row.valid_from, row.valid_to = None, RETIRED
                uow.changed(row)
            for start, end in sorted(spans)[len(current):]:
                row = spare.pop() if spare else WorkingHours(practitioner_id=practitioner_id)
                self._put(uow, row, weekday, start, end)
        uow.audit(
            "schedule.hours_set",
            resource_type="Practitioner",
            resource_id=practitioner_id,
            detail={"days": {DAY_NAMES[d]: len(v) for d, v in sorted(week.items())}},
        )
        self.core.notify("schedule.changed")
        return [_hours_info(wh) for wh in self._current_hours(uow, practitioner_id)]

    def _put(
        self, uow: UnitOfWork, row: WorkingHours, weekday: int, start: time, end: time
    ) -> None:
        before = (row.weekday, row.start_time, row.end_time, row.valid_from, row.valid_to)
        row.weekday, row.start_time, row.end_time = weekday, start, end
        row.valid_from = row.valid_to = None
        if row.id is None or before != (weekday, start, end, None, None):
            uow.session.add(row)
            uow.changed(row)  # unchanged sessions stay out of the outbox

    def _current_hours(self, uow: UnitOfWork, practitioner_id: str) -> list[WorkingHours]:
        today = self.core.now().astimezone(ZoneInfo(rules.clinic_hours(uow.session).timezone))
        return list(
            uow.session.scalars(
                select(WorkingHours)
                .where(
                    WorkingHours.practitioner_id == practitioner_id,
                    (WorkingHours.valid_to.is_(None)) | (WorkingHours.valid_to >= today.date()),
                )
                .order_by(WorkingHours.weekday, WorkingHours.start_time)
            )
        )

    # --- leave ---------------------------------------------------------------------------------

    @operation(Permission.SCHEDULE, "schedule.leave_read", resource_type="Slot")
    def leave(
        self, uow: UnitOfWork, *, practitioner_id: str, since: datetime | None = None
    ) -> list[LeaveInfo]:
        """The practitioner's leave ending after ``since`` (all of it when None), by start."""
        q = select(PractitionerLeave).where(
            PractitionerLeave.practitioner_id == practitioner_id,
            PractitionerLeave.cancelled.is_(False),
        )
        if since is not None:
            q = q.where(PractitionerLeave.end_at > since)
        rows = list(uow.session.scalars(q.order_by(PractitionerLeave.start_at)))
        return [self._leave_info(uow, r) for r in rows]

    @operation(SETUP, "schedule.leave_add", resource_type="Slot")
    def add_leave(
        self,
        uow: UnitOfWork,
        *,
        practitioner_id: str,
        start_at: datetime,
        end_at: datetime,
        reason: str = "Leave",
    ) -> LeaveInfo:
        self._practitioner(uow, practitioner_id)
        if start_at.tzinfo is None or end_at.tzinfo is None:
            raise ValidationError({"start_at": "The time has no time zone."})
        if end_at <= start_at:
            raise ValidationError({"end_at": "Leave must end after it starts."})
        if len(reason.strip()) > 200:
            raise ValidationError({"reason": "At most 200 characters."})
        other = uow.session.scalars(
            select(PractitionerLeave).where(
                PractitionerLeave.practitioner_id == practitioner_id,
                PractitionerLeave.cancelled.is_(False),
                PractitionerLeave.start_at < end_at,
                PractitionerLeave.end_at > start_at,
            )
        ).first()
        if other is not None:
            tz = ZoneInfo(rules.clinic_hours(uow.session).timezone)
            raise ValidationError(
                {
                    "start_at": "Overlaps leave already recorded ({} to {}, {}).".format(
                        _when(other.start_at.astimezone(tz)),
                        _when(other.end_at.astimezone(tz)),
                        other.reason or "Leave",
                    )
                }
            )
        leave = PractitionerLeave(
            practitioner_id=practitioner_id,
            start_at=start_at,
            end_at=end_at,
            reason=reason.strip() or "Leave",
            cancelled=False,
        )
        uow.session.add(leave)
        uow.changed(leave)
        self.core.notify("schedule.changed")
        return self._leave_info(uow, leave)

    @operation(SETUP, "schedule.leave_cancel", resource_type="Slot")
    def cancel_leave(self, uow: UnitOfWork, *, leave_id: str) -> LeaveInfo:
        """Remove leave (kept as cancelled: the change reaches the other workstations)."""
        leave = uow.session.get(PractitionerLeave, leave_id)
        if leave is None or leave.cancelled:
            raise NotFound("That leave is no longer recorded.")
        leave.cancelled = True
        uow.changed(leave)
        self.core.notify("schedule.changed")
        return self._leave_info(uow, leave)

    def _leave_info(self, uow: UnitOfWork, leave: PractitionerLeave) -> LeaveInfo:
        inside = uow.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.practitioner_id == leave.practitioner_id,
                Appointment.start_at < leave.end_at,
                Appointment.end_at > leave.start_at,
                Appointment.status.in_(rules.BLOCKING),
            )
        )
        return LeaveInfo(
            leave.id,
            leave.practitioner_id,
            leave.start_at,
            leave.end_at,
            leave.reason or "",
            0 if leave.cancelled else int(inside or 0),
        )

    # --- appointment types ---------------------------------------------------------------------

    @operation(Permission.SCHEDULE, "schedule.types_all", resource_type="HealthcareService")
    def all_appointment_types(self, uow: UnitOfWork) -> list[AppointmentTypeInfo]:
        """Every appointment type, retired ones too (after the active ones)."""
        rows = uow.session.scalars(
            select(AppointmentType).order_by(
                AppointmentType.active.desc(), func.lower(AppointmentType.name)
            )
        )
        return [type_info(t) for t in rows]

    @operation(SETUP, "schedule.type_add", resource_type="HealthcareService")
    def add_appointment_type(
        self, uow: UnitOfWork, *, name: str, duration_minutes: int, colour: str = "#7fb3d5"
    ) -> AppointmentTypeInfo:
        self._check_type(uow, None, name, duration_minutes, colour)
        t = AppointmentType(
            clinic_id=uow.session.scalars(select(Clinic.id)).one(),
            name=name.strip(),
            duration_minutes=duration_minutes,
            colour=colour.lower(),
            active=True,
        )
        uow.session.add(t)
        uow.changed(t)
        self.core.notify("schedule.changed")
        return type_info(t)

    @operation(SETUP, "schedule.type_update", resource_type="HealthcareService")
    def update_appointment_type(
        self, uow: UnitOfWork, *, type_id: str, name: str, duration_minutes: int, colour: str
    ) -> AppointmentTypeInfo:
        """Name, length and colour. Booked appointments keep their times: the length is what
        new bookings get."""
        t = self._type(uow, type_id)
        self._check_type(uow, t.id, name, duration_minutes, colour)
        t.name, t.duration_minutes, t.colour = name.strip(), duration_minutes, colour.lower()
        uow.changed(t)
        self.core.notify("schedule.changed")
        return type_info(t)

    @operation(SETUP, "schedule.type_retire", resource_type="HealthcareService")
    def retire_appointment_type(self, uow: UnitOfWork, *, type_id: str) -> AppointmentTypeInfo:
        return self._set_type_active(uow, type_id, False)

    @operation(SETUP, "schedule.type_reinstate", resource_type="HealthcareService")
    def reinstate_appointment_type(self, uow: UnitOfWork, *, type_id: str) -> AppointmentTypeInfo:
        t = self._type(uow, type_id)
        self._check_type(uow, t.id, t.name, t.duration_minutes, t.colour, reinstating=True)
        return self._set_type_active(uow, type_id, True)

    def _set_type_active(self, uow: UnitOfWork, type_id: str, active: bool) -> AppointmentTypeInfo:
        t = self._type(uow, type_id)
        if bool(t.active) != active:
            t.active = active
            uow.changed(t)
            self.core.notify("schedule.changed")
        return type_info(t)

    def _check_type(
        self,
        uow: UnitOfWork,
        type_id: str | None,
        name: str,
        minutes: int,
        colour: str,
        *,
        reinstating: bool = False,
    ) -> None:
        errors: dict[str, str] = {}
        if not name.strip():
            errors["name"] = "Enter a name."
        elif len(name.strip()) > 100:
            errors["name"] = "At most 100 characters."
        else:
            same = uow.session.scalar(
                select(AppointmentType.id).where(
                    func.lower(AppointmentType.name) == name.strip().lower(),
                    AppointmentType.active.is_(True),
                    AppointmentType.id != (type_id or ""),
                )
            )
            if same is not None:
                errors["name"] = (
                    "Another type in use has this name: rename one of them first."
                    if reinstating
                    else "Another type in use has this name."
                )
        if not 5 <= minutes <= 480:
            errors["duration_minutes"] = "Between 5 minutes and 8 hours."
        if not COLOUR.match(colour or ""):
            errors["colour"] = "Choose a colour."
        if errors:
            raise ValidationError(errors)

    def _type(self, uow: UnitOfWork, type_id: str) -> AppointmentType:
        t = uow.session.get(AppointmentType, type_id)
        if t is None:
            raise NotFound("That appointment type no longer exists.")
        return t

    def _practitioner(self, uow: UnitOfWork, practitioner_id: str) -> Practitioner:
        p = uow.session.get(Practitioner, practitioner_id)
        if p is None or not p.active:
            raise ValidationError({"practitioner_id": "Choose a practitioner."})
        return p
