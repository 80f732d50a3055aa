"""The appointment book (``ctx.scheduling``): views, booking, moving, arrival, waiting room.

The status of an appointment flows booked -> arrived -> in-consultation -> completed, or ends
as cancelled (with a reason) or noshow. A practitioner is never booked twice at once quietly:
an overlap is refused with a ConflictError saying what is in the way; a deliberate double-book
needs an ``override_reason``, which is kept on the appointment and in the access log.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..domain.dates import weekday_day_month_text
from ..domain.enums import AppointmentStatus as S
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.ids import new_id
from ..domain.permissions import Permission
from ..store.models import (
    Appointment,
    AppointmentType,
    Patient,
    PatientAlert,
    Practitioner,
)
from . import scheduling_rules as rules
from .base import ServiceCore, UnitOfWork, operation
from .scheduling_dto import (
    AppointmentInfo,
    AppointmentTypeInfo,
    BookView,
    ClinicHours,
    PractitionerInfo,
    WaitingEntry,
)
from .scheduling_free import find_free_slot
from .scheduling_print import SchedulePrintOps
from .scheduling_setup import ScheduleSetupOps, type_info

SCHED = Permission.SCHEDULE
NEXT: dict[str, set[str]] = {
    S.BOOKED: {S.ARRIVED, S.CANCELLED, S.NO_SHOW},
    S.ARRIVED: {S.IN_CONSULTATION, S.COMPLETED, S.BOOKED, S.CANCELLED},
    S.IN_CONSULTATION: {S.COMPLETED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: {S.BOOKED},
}


class SchedulingService(ScheduleSetupOps, SchedulePrintOps):
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    # --- reference data ---------------------------------------------------------------------

    @operation(None, "schedule.hours")
    def hours(self, uow: UnitOfWork) -> ClinicHours:
        return rules.clinic_hours(uow.session)

    @operation(None, "schedule.practitioners")
    def practitioners(self, uow: UnitOfWork) -> list[PractitionerInfo]:
        rows = uow.session.scalars(
            select(Practitioner)
            .where(Practitioner.active.is_(True))
            .order_by(Practitioner.family, Practitioner.given)
        )
        return [
            PractitionerInfo(p.id, rules.practitioner_name(p), p.colour, p.specialty or "")
            for p in rows
        ]

    @operation(None, "schedule.types")
    def appointment_types(self, uow: UnitOfWork) -> list[AppointmentTypeInfo]:
        rows = uow.session.scalars(
            select(AppointmentType)
            .where(AppointmentType.active.is_(True))
            .order_by(AppointmentType.name)
        )
        return [type_info(t) for t in rows]

    # --- views -----------------------------------------------------------------------------

    @operation(SCHED, "schedule.view", resource_type="Appointment")
    def view(
        self,
        uow: UnitOfWork,
        *,
        first_day: date,
        days: int = 1,
        practitioner_ids: list[str] | None = None,
    ) -> BookView:
        """Everything a day or week of the book shows, for many practitioners (one query)."""
        s = uow.session
        hours = rules.clinic_hours(s)
        q = select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.family)
        pracs = list(s.scalars(q))
        if practitioner_ids is not None:
            by_id = {p.id: p for p in pracs}
            pracs = [by_id[i] for i in practitioner_ids if i in by_id]
        ids = [p.id for p in pracs]
        start, end = rules.day_range(first_day, days, ZoneInfo(hours.timezone))
        rows = s.execute(
            rules.info_select()
            .where(
                Appointment.practitioner_id.in_(ids),
                # No appointment lasts a day: the lower bound lets the (practitioner, start)
                # index read only the range shown instead of every appointment before it.
                Appointment.start_at > start - timedelta(days=1),
                Appointment.start_at < end,
                Appointment.end_at > start,
            )
            .order_by(Appointment.start_at)
        )
        appts = tuple(rules.info_of(r) for r in rows)
        uow.audit(
            "schedule.view", resource_type="Appointment", detail={"days": days, "rows": len(appts)}
        )
        return BookView(
            first_day,
            days,
            hours,
            tuple(
                PractitionerInfo(p.id, rules.practitioner_name(p), p.colour, p.specialty or "")
                for p in pracs
            ),
            appts,
            tuple(rules.unavailable(s, ids, first_day, days, hours)),
        )

    @operation(SCHED, "schedule.read", resource_type="Appointment")
    def appointment(self, uow: UnitOfWork, *, appointment_id: str) -> AppointmentInfo:
        info = self._info(uow, appointment_id)
        uow.audit(
            "schedule.read",
            resource_type="Appointment",
            resource_id=info.id,
            patient_id=info.patient_id,
        )
        return info

    @operation(
        Permission.READ_DEMOGRAPHICS,
        "schedule.patient",
        patient_arg="patient_id",
        resource_type="Appointment",
    )
    def patient_appointments(self, uow: UnitOfWork, *, patient_id: str) -> list[AppointmentInfo]:
        rows = uow.session.execute(
            rules.info_select()
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.start_at.desc())
        )
        return [rules.info_of(r) for r in rows]

    @operation(SCHED, "schedule.waiting_room", resource_type="Appointment")
    def waiting_room(
        self, uow: UnitOfWork, *, practitioner_id: str | None = None
    ) -> list[WaitingEntry]:
        """Today's arrived patients (and those now in consultation), longest waiting first."""
        s = uow.session
        tz = ZoneInfo(rules.clinic_hours(s).timezone)
        start, end = rules.day_range(self.core.now().astimezone(tz).date(), 1, tz)
        q = rules.info_select().where(
            Appointment.start_at >= start,
            Appointment.start_at < end,
            Appointment.status.in_([S.ARRIVED, S.IN_CONSULTATION]),
        )
        if practitioner_id:
            q = q.where(Appointment.practitioner_id == practitioner_id)
        infos = [rules.info_of(r) for r in s.execute(q)]
        alerts = {
            pid
            for pid in s.scalars(
                select(PatientAlert.patient_id).where(
                    PatientAlert.patient_id.in_([i.patient_id for i in infos]),
                    PatientAlert.active.is_(True),
                )
            )
        }
        out = [
            WaitingEntry(
                i.id,
                i.patient_id,
                i.patient_name,
                i.practitioner_id,
                i.practitioner_name,
                i.type_name,
                i.start_at,
                i.arrived_at or i.start_at,
                i.status,
                int(i.patient_id in alerts),
            )
            for i in infos
        ]
        out.sort(key=lambda e: (e.status != S.ARRIVED, e.arrived_at))
        uow.audit("schedule.waiting_room", resource_type="Appointment", detail={"rows": len(out)})
        return out

    @operation(SCHED, "schedule.next_free")
    def next_free_slot(
        self,
        uow: UnitOfWork,
        *,
        practitioner_id: str,
        appointment_type_id: str | None = None,
        after: datetime,
        duration_minutes: int | None = None,
        search_days: int = 90,
    ) -> datetime:
        minutes = self._duration(uow, appointment_type_id, duration_minutes)
        found = find_free_slot(uow.session, practitioner_id, after, minutes, search_days)
        if found is None:
            raise NotFound(f"No free time in the next {search_days} days.")
        return found

    # --- changes ---------------------------------------------------------------------------

    @operation(SCHED, "schedule.book", patient_arg="patient_id", resource_type="Appointment")
    def book(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        practitioner_id: str,
        start_at: datetime,
        appointment_type_id: str | None = None,
        duration_minutes: int | None = None,
        note: str = "",
        override_reason: str = "",
    ) -> AppointmentInfo:
        a = self._new(
            uow,
            patient_id,
            practitioner_id,
            start_at,
            appointment_type_id,
            duration_minutes,
            note,
            override_reason,
            None,
        )
        self._audit(uow, "schedule.book", a, override_reason)
        self.core.notify("schedule.changed")
        return self._info(uow, a.id)

    @operation(
        SCHED, "schedule.book_recurring", patient_arg="patient_id", resource_type="Appointment"
    )
    def book_recurring(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        practitioner_id: str,
        start_at: datetime,
        every_weeks: int,
        occurrences: int,
        appointment_type_id: str | None = None,
        duration_minutes: int | None = None,
        note: str = "",
    ) -> list[AppointmentInfo]:
        """Weekly (1) or fortnightly (2) for N occurrences, all or none: each one is checked."""
        if every_weeks not in (1, 2) or not 2 <= occurrences <= 52:
            raise ValidationError({"occurrences": "Repeat weekly or fortnightly, 2 to 52 times."})
        series, made, problems = new_id(), [], []
        for n in range(occurrences):
            when = _same_local_time(
                start_at, every_weeks * n, rules.clinic_hours(uow.session).timezone
            )
            try:
                made.append(
                    self._new(
                        uow,
                        patient_id,
                        practitioner_id,
                        when,
                        appointment_type_id,
                        duration_minutes,
                        note,
                        "",
                        series,
                    )
                )
            except ConflictError as e:
                problems.append(str(e))
        if problems:
            raise ConflictError("The series was not booked. " + " ".join(problems))
        uow.audit(
            "schedule.book_recurring",
            resource_type="Appointment",
            resource_id=series,
            patient_id=patient_id,
            detail={"occurrences": occurrences, "every_weeks": every_weeks},
        )
        self.core.notify("schedule.changed")
        return [self._info(uow, a.id) for a in made]

    @operation(SCHED, "schedule.move", resource_type="Appointment")
    def move(
        self,
        uow: UnitOfWork,
        *,
        appointment_id: str,
        start_at: datetime,
        practitioner_id: str | None = None,
        appointment_type_id: str | None = None,
        duration_minutes: int | None = None,
        override_reason: str = "",
    ) -> AppointmentInfo:
        a = self._appt(uow, appointment_id)
        if a.status not in (S.BOOKED, S.ARRIVED):
            raise ConflictError(f"A {_label(a.status)} appointment cannot be moved.")
        if duration_minutes is None and appointment_type_id is None:
            duration_minutes = int((a.end_at - a.start_at).total_seconds() // 60)
        type_id = appointment_type_id or a.appointment_type_id
        minutes = self._duration(uow, type_id, duration_minutes)
        prac = practitioner_id or a.practitioner_id
        end = start_at + timedelta(minutes=minutes)
        self._check_free(uow, prac, start_at, end, override_reason, exclude_id=a.id)
        a.start_at, a.end_at, a.practitioner_id, a.appointment_type_id = (
            start_at,
            end,
            prac,
            type_id,
        )
        if override_reason.strip():
            a.overbook_reason = override_reason.strip()[:200]
        uow.changed(a)
        self._audit(uow, "schedule.move", a, override_reason)
        self.core.notify("schedule.changed")
        return self._info(uow, a.id)

    @operation(SCHED, "schedule.cancel", resource_type="Appointment")
    def cancel(self, uow: UnitOfWork, *, appointment_id: str, reason: str) -> AppointmentInfo:
        if not reason.strip():
            raise ValidationError({"reason": "Give the reason for cancelling."})
        a = self._transition(uow, appointment_id, S.CANCELLED)
        a.cancel_reason = reason.strip()[:200]
        return self._finish(uow, "schedule.cancel", a, reason.strip())

    @operation(SCHED, "schedule.no_show", resource_type="Appointment")
    def no_show(self, uow: UnitOfWork, *, appointment_id: str) -> AppointmentInfo:
        return self._finish(
            uow, "schedule.no_show", self._transition(uow, appointment_id, S.NO_SHOW)
        )

    @operation(SCHED, "schedule.check_in", resource_type="Appointment")
    def check_in(self, uow: UnitOfWork, *, appointment_id: str) -> AppointmentInfo:
        a = self._transition(uow, appointment_id, S.ARRIVED)
        a.arrived_at = self.core.now()
        return self._finish(uow, "schedule.check_in", a)

    @operation(SCHED, "schedule.undo_check_in", resource_type="Appointment")
    def undo_check_in(self, uow: UnitOfWork, *, appointment_id: str) -> AppointmentInfo:
        a = self._transition(uow, appointment_id, S.BOOKED)
        a.arrived_at = None
        return self._finish(uow, "schedule.undo_check_in", a)

    @operation(SCHED, "schedule.complete", resource_type="Appointment")
    def complete(self, uow: UnitOfWork, *, appointment_id: str) -> AppointmentInfo:
        a = self._transition(uow, appointment_id, S.COMPLETED)
        a.completed_at = self.core.now()
        return self._finish(uow, "schedule.complete", a)

    # --- helpers ---------------------------------------------------------------------------

    def _new(
        self,
        uow: UnitOfWork,
        patient_id: str,
        practitioner_id: str,
        start_at: datetime,
        type_id: str | None,
        duration: int | None,
        note: str,
        override: str,
        series: str | None,
    ) -> Appointment:
        if start_at.tzinfo is None:
            raise ValidationError({"start_at": "The time has no time zone."})
        s = uow.session
        patient = s.get(Patient, patient_id)
        if patient is None or not patient.active:
            raise ValidationError({"patient_id": "Choose an active patient."})
        prac = s.get(Practitioner, practitioner_id)
        if prac is None or not prac.active:
            raise ValidationError({"practitioner_id": "Choose a practitioner."})
        end = start_at + timedelta(minutes=self._duration(uow, type_id, duration))
        self._check_free(uow, practitioner_id, start_at, end, override)
        a = Appointment(
            clinic_id=prac.clinic_id,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            appointment_type_id=type_id,
            start_at=start_at,
            end_at=end,
            status=S.BOOKED.value,
            note=note.strip() or None,
            overbook_reason=override.strip()[:200] or None,
            recurrence_id=series,
            booked_by=uow.actor.user_id if uow.actor else None,
        )
        s.add(a)
        uow.changed(a)
        return a

    def _check_free(
        self,
        uow: UnitOfWork,
        prac_id: str,
        start: datetime,
        end: datetime,
        override: str,
        exclude_id: str | None = None,
    ) -> None:
        if override.strip():
            return
        s = uow.session
        prac = s.get(Practitioner, prac_id)
        who = rules.practitioner_name(prac) if prac else "The practitioner"
        tz = ZoneInfo(rules.clinic_hours(s).timezone)
        for other, patient in rules.overlapping(s, prac_id, start, end, exclude_id):
            o_start, o_end = other.start_at.astimezone(tz), other.end_at.astimezone(tz)
            raise ConflictError(
                f"{who} is already booked with {patient.given} {patient.family} from "
                f"{o_start:%H:%M} to {o_end:%H:%M} on {weekday_day_month_text(o_start)}. "
                "Choose another time, or double-book on purpose by giving a reason."
            )
        problem = rules.availability_problem(s, prac_id, start, end, rules.clinic_hours(s))
        if problem:
            local = start.astimezone(tz)
            raise ConflictError(
                f"{who} is {problem} ({weekday_day_month_text(local)} {local:%H:%M}). "
                "Choose another time, or book anyway by giving a reason."
            )

    def _duration(self, uow: UnitOfWork, type_id: str | None, minutes: int | None) -> int:
        if minutes is None and type_id:
            t = uow.session.get(AppointmentType, type_id)
            if t is None:
                raise ValidationError({"appointment_type_id": "Choose an appointment type."})
            minutes = t.duration_minutes
        minutes = minutes or rules.clinic_hours(uow.session).slot_minutes
        if not 5 <= minutes <= 480:
            raise ValidationError({"duration_minutes": "Between 5 minutes and 8 hours."})
        return minutes

    def _appt(self, uow: UnitOfWork, appointment_id: str) -> Appointment:
        a = uow.session.get(Appointment, appointment_id)
        if a is None:
            raise NotFound("That appointment was not found.")
        return a

    def _transition(self, uow: UnitOfWork, appointment_id: str, to: S) -> Appointment:
        a = self._appt(uow, appointment_id)
        if to not in NEXT.get(a.status, set()):
            raise ConflictError(
                f"This appointment is {_label(a.status)}; it cannot be marked {_label(to)}."
            )
        a.status = to.value
        return a

    def _finish(
        self, uow: UnitOfWork, action: str, a: Appointment, reason: str = ""
    ) -> AppointmentInfo:
        uow.changed(a)
        uow.audit(
            action,
            resource_type="Appointment",
            resource_id=a.id,
            patient_id=a.patient_id,
            reason=reason or None,
        )
        self.core.notify("schedule.changed", appointment_id=a.id, patient_id=a.patient_id)
        return self._info(uow, a.id)

    def _audit(self, uow: UnitOfWork, action: str, a: Appointment, override: str) -> None:
        uow.audit(
            action,
            resource_type="Appointment",
            resource_id=a.id,
            patient_id=a.patient_id,
            reason=override.strip() or None,
            detail={"double_book_override": True} if override.strip() else None,
        )

    def _info(self, uow: UnitOfWork, appointment_id: str) -> AppointmentInfo:
        uow.session.flush()
        return rules.load_info(uow.session, appointment_id)


def _label(status: str) -> str:
    return {"noshow": "a no-show", "in-consultation": "in consultation"}.get(status, status)


def _same_local_time(start: datetime, weeks: int, tz_name: str) -> datetime:
    """The same wall-clock time N weeks later (stays at 09:00 across a daylight-saving change)."""
    tz = ZoneInfo(tz_name)
    local = start.astimezone(tz)
    naive = local.replace(tzinfo=None) + timedelta(weeks=weeks)
    return naive.replace(tzinfo=tz).astimezone(start.tzinfo)
