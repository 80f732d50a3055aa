"""Clinic, workstations, local settings, staff accounts, practitioners and their hours."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, SyncMixin, fhir_type, uuid_pk


@fhir_type("Organization")
class Clinic(SyncMixin, Base):
    __tablename__ = "clinic"

    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    locale: Mapped[str] = mapped_column(String(16), default="en_GB")
    day_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    day_end: Mapped[time] = mapped_column(Time, default=time(18, 0))
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # "line" (round each line's tax) or "total"; see documents/billing docs.
    tax_rounding: Mapped[str] = mapped_column(String(10), default="line")
    logo_png: Mapped[bytes | None] = mapped_column(default=None)
    invoice_footer: Mapped[str | None] = mapped_column(Text)


@fhir_type("Device")
class Workstation(SyncMixin, Base):
    """This installation (and the clinic's other ones, as they become known through sync).

    ``is_local`` marks this installation's own record; it never travels (docs/billing.md)."""

    __tablename__ = "workstation"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"))
    name: Mapped[str] = mapped_column(String(100))
    # Short code that prefixes this workstation's invoice series: unique per clinic.
    series_code: Mapped[str] = mapped_column(String(8))
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Setting(Base):
    """Local, per-workstation settings (backup schedule, idle lock, ...): JSON values."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


@fhir_type("Practitioner")
class Practitioner(SyncMixin, Base):
    __tablename__ = "practitioner"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"), index=True)
    prefix: Mapped[str | None] = mapped_column(String(20))
    given: Mapped[str] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(100))
    qualification: Mapped[str | None] = mapped_column(String(200))
    specialty: Mapped[str | None] = mapped_column(String(100))
    provider_number: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    colour: Mapped[str] = mapped_column(String(9), default="#4a90d9")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


@fhir_type("Basic")
class StaffUser(SyncMixin, Base):
    """A staff account. Hashes and TOTP secrets never reach the FHIR API; they sync encrypted."""

    __tablename__ = "staff_user"

    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinic.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    practitioner_id: Mapped[str | None] = mapped_column(ForeignKey("practitioner.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Highest TOTP time-step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    recovery_codes: Mapped[str | None] = mapped_column(Text)  # JSON list of argon2 hashes
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]


@fhir_type("Schedule")
class WorkingHours(SyncMixin, Base):
    __tablename__ = "working_hours"

    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioner.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


@fhir_type("Slot")
class PractitionerLeave(SyncMixin, Base):
    __tablename__ = "practitioner_leave"

    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioner.id"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(200))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class NumberSeries(Base):
    """A workstation's own numbering (invoices, receipts, credit notes): unique offline.

    A number is ``{prefix}-{series_code}-{n:06d}``; no two workstations share a series code.
    """

    __tablename__ = "number_series"
    __table_args__ = (UniqueConstraint("kind", "series_code"),)

    id: Mapped[str] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(20))
    series_code: Mapped[str] = mapped_column(String(8))
    next_value: Mapped[int] = mapped_column(Integer, default=1)
