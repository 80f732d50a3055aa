"""Printing from the appointment book: the data comes from the services and the PDF is drawn
by ``documents`` on the worker thread; the GUI only chooses where to save and reports back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QWidget

from ...documents.appointment_card import render_appointment_card
from ...documents.day_list import render_day_list
from ...documents.pdf_base import ClinicHeading
from ...domain.session import StaffSession
from ..ops import run_op


def _heading(hours: Any) -> ClinicHeading:
    return ClinicHeading(hours.clinic_name, hours.clinic_address, hours.clinic_phone)


def print_day_list(
    parent: QWidget,
    ctx: Any,
    session: StaffSession,
    day: date,
    columns: list[str] | None,
    out: Path,
    done: Callable[[Path], None],
) -> None:
    sched = ctx.scheduling

    def work() -> Path:
        view = sched.view(session, first_day=day, days=1, practitioner_ids=columns)
        return render_day_list(
            out,
            heading=_heading(view.hours),
            day=day,
            timezone=view.hours.timezone,
            practitioners=[(p.id, p.name) for p in view.practitioners],
            appointments=view.appointments,
            printed_at=datetime.now(UTC).astimezone(ZoneInfo(view.hours.timezone)),
        )

    run_op(parent, work, done, label=parent.tr("Preparing the day list…"))


def print_card(
    parent: QWidget,
    ctx: Any,
    session: StaffSession,
    appointment_id: str,
    out: Path,
    done: Callable[[Path], None],
) -> None:
    sched = ctx.scheduling

    def work() -> Path:
        a = sched.appointment(session, appointment_id=appointment_id)
        hours = sched.hours(session)
        local = a.start_at.astimezone(ZoneInfo(hours.timezone))
        name = f"{a.patient_given} {a.patient_family}".strip() or a.patient_name
        return render_appointment_card(
            out,
            heading=_heading(hours),
            patient_name=name,
            practitioner_name=a.practitioner_name,
            start_local=local,
            minutes=int((a.end_at - a.start_at).total_seconds() // 60),
            type_name=a.type_name,
        )

    run_op(parent, work, done, label=parent.tr("Preparing the appointment card…"))
