"""Printouts of the appointment book: the day list per practitioner and the appointment card.

Each is read in one audited transaction (what the page shows, and the clinic's letterhead) and
rendered as PDF bytes outside it: rendering must not hold the database's write lock, and the
screen prints the bytes or saves them where the person chose (no temporary file).
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..documents.appointment_card import AppointmentCard, appointment_card_pdf
from ..documents.day_list import DayListDocument, day_list_pdf
from ..domain.errors import NotFound
from ..domain.permissions import Permission
from ..domain.session import StaffSession
from ..store.models import Appointment, Practitioner
from . import scheduling_rules as rules
from .base import ServiceCore, UnitOfWork, operation
from .clinic_letterhead import clinic_letterhead


class SchedulePrintOps:
    core: ServiceCore

    @operation(Permission.SCHEDULE, "schedule.print_day_list", resource_type="Appointment")
    def day_list_document(
        self, uow: UnitOfWork, *, day: date, practitioner_ids: list[str] | None = None
    ) -> DayListDocument:
        """The day's appointments of the practitioners shown (all active ones by default)."""
        s = uow.session
        hours = rules.clinic_hours(s)
        tz = ZoneInfo(hours.timezone)
        pracs = list(s.scalars(select(Practitioner).where(Practitioner.active.is_(True))
                               .order_by(Practitioner.family, Practitioner.given)))
        if practitioner_ids is not None:
            by_id = {p.id: p for p in pracs}
            pracs = [by_id[i] for i in practitioner_ids if i in by_id]
        start, end = rules.day_range(day, 1, tz)
        rows = s.execute(
            rules.info_select()
            .where(
                Appointment.practitioner_id.in_([p.id for p in pracs]),
                Appointment.start_at > start - timedelta(days=1),
                Appointment.start_at < end,
                Appointment.end_at > start,
            )
            .order_by(Appointment.start_at)
        )
        appointments = tuple(rules.info_of(r) for r in rows)
        uow.audit("schedule.print_day_list", resource_type="Appointment",
                  detail={"day": day.isoformat(), "rows": len(appointments)})
        return DayListDocument(
            head=clinic_letterhead(s),
            day=day,
            timezone=hours.timezone,
            practitioners=tuple((p.id, rules.practitioner_name(p)) for p in pracs),
            appointments=appointments,
            printed_at=self.core.now().astimezone(tz),
        )

    @operation(Permission.SCHEDULE, "schedule.print_card", resource_type="Appointment")
    def appointment_card_document(self, uow: UnitOfWork, *, appointment_id: str) -> AppointmentCard:
        s = uow.session
        if s.get(Appointment, appointment_id) is None:
            raise NotFound("That appointment no longer exists.")
        a = rules.load_info(s, appointment_id)
        local = a.start_at.astimezone(ZoneInfo(rules.clinic_hours(s).timezone))
        uow.audit("schedule.print_card", resource_type="Appointment", resource_id=a.id,
                  patient_id=a.patient_id)
        return AppointmentCard(
            head=clinic_letterhead(s),
            patient_name=f"{a.patient_given} {a.patient_family}".strip() or a.patient_name,
            practitioner_name=a.practitioner_name,
            start_local=local,
            minutes=int((a.end_at - a.start_at).total_seconds() // 60),
            type_name=a.type_name,
        )

    def day_list_pdf(self, actor: StaffSession, *, day: date,
                     practitioner_ids: list[str] | None = None) -> bytes:
        return day_list_pdf(self.day_list_document(actor, day=day,
                                                   practitioner_ids=practitioner_ids))

    def appointment_card_pdf(self, actor: StaffSession, *, appointment_id: str) -> bytes:
        return appointment_card_pdf(self.appointment_card_document(
            actor, appointment_id=appointment_id))
