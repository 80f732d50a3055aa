"""Billing test helpers: rows inserted directly (appointments, encounters, types, series).

The reception and clinical services are other engineers' work; billing tests only need rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.store.models import (
    Appointment,
    AppointmentType,
    Clinic,
    Encounter,
    NumberSeries,
    Practitioner,
    Workstation,
)


def clinic_id(ctx: AppContext) -> str:
    with ctx.db.sessions()() as s:
        return s.scalars(select(Clinic.id)).one()


def practitioner_id(ctx: AppContext) -> str:
    with ctx.db.sessions()() as s:
        return s.scalars(select(Practitioner.id)).first()  # type: ignore[return-value]


def make_appointment(
    ctx: AppContext,
    patient_id: str,
    *,
    fee_code: str | None = "CONS-S",
    start: datetime | None = None,
    status: str = "completed",
    type_name: str = "Standard consultation",
    practitioner: str | None = None,
) -> str:
    with ctx.db.sessions()() as s, s.begin():
        cid, tz = s.execute(select(Clinic.id, Clinic.timezone)).one()
        if start is None:  # an hour ago, but today in the clinic (the screens' day) after midnight
            now, zone = datetime.now(UTC).replace(microsecond=0), ZoneInfo(tz)
            midnight = datetime.combine(now.astimezone(zone).date(), time(), zone)
            start = max(now - timedelta(hours=1), midnight.astimezone(UTC))
        atype = s.scalars(select(AppointmentType).where(AppointmentType.name == type_name)).first()
        if atype is None:
            atype = AppointmentType(
                clinic_id=cid, name=type_name, duration_minutes=15, default_fee_code=fee_code
            )
            s.add(atype)
            s.flush()
        appt = Appointment(
            clinic_id=cid,
            patient_id=patient_id,
            practitioner_id=practitioner or s.scalars(select(Practitioner.id)).first(),
            appointment_type_id=atype.id,
            start_at=start,
            end_at=start + timedelta(minutes=15),
            status=status,
            completed_at=start + timedelta(minutes=15) if status == "completed" else None,
        )
        s.add(appt)
        s.flush()
        return appt.id


def make_encounter(ctx: AppContext, appointment_id: str) -> str:
    with ctx.db.sessions()() as s, s.begin():
        appt = s.get(Appointment, appointment_id)
        assert appt is not None
        enc = Encounter(
            patient_id=appt.patient_id,
            practitioner_id=appt.practitioner_id,
            appointment_id=appt.id,
            status="finished",
            start_at=appt.start_at,
        )
        s.add(enc)
        s.flush()
        return enc.id


def add_workstation(ctx: AppContext, series_code: str, name: str = "Second desk") -> str:
    """Another workstation of the clinic with its own series (as set-up gives each one)."""
    with ctx.db.sessions()() as s, s.begin():
        ws = Workstation(
            clinic_id=s.scalars(select(Clinic.id)).one(),
            name=name,
            series_code=series_code,
            is_local=False,
            created_at=datetime.now(UTC),
        )
        s.add(ws)
        for kind in ("invoice", "credit_note", "receipt"):
            s.add(NumberSeries(kind=kind, series_code=series_code, next_value=1))
        s.flush()
        return ws.id


def set_clinic(ctx: AppContext, **values: object) -> None:
    with ctx.db.sessions()() as s, s.begin():
        clinic = s.scalars(select(Clinic)).one()
        for k, v in values.items():
            setattr(clinic, k, v)


@pytest.fixture
def fees(ctx: AppContext) -> AppContext:
    """The clinic with the shipped fee schedule installed (no actor: as first run does)."""
    from pms_desktop.services.billing import load_default_fee_schedule

    with ctx.db.sessions()() as s, s.begin():
        load_default_fee_schedule(s)
    return ctx
