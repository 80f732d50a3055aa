"""Access log, sync outbox, sync state, merge bases, conflicts, break-glass grants.

These rows are local bookkeeping: they are not themselves synced as records (the access log is
shipped as FHIR AuditEvents by the sync engine).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, uuid_pk


class AuditEntry(Base):
    """One link of the hash chain; maps one to one to a FHIR AuditEvent.

    ``hash`` is SHA-256 over the canonical JSON of every other column (``prev_hash`` included).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_patient_time", "patient_id", "at"),
        Index("ix_audit_user_time", "user_id", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    workstation_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str | None] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(36))
    patient_id: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(10))
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON, never patient data
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxChange(Base):
    """A local change waiting to be pushed; written in the same transaction as the change."""

    __tablename__ = "sync_outbox"
    __table_args__ = (Index("ix_outbox_status_seq", "status", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    table_name: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    op: Mapped[str] = mapped_column(String(10))
    base_version: Mapped[int | None] = mapped_column(Integer)
    local_revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The exact body once sent: a retry re-sends it byte for byte under the same change id.
    sent_body: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    """Key/value: device id, server URL, pull cursor, last sync time, shipped audit head."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncBase(Base):
    """The last version both sides agreed on: the base of a three-way merge."""

    __tablename__ = "sync_base"

    resource_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    resource: Mapped[str] = mapped_column(Text)  # FHIR JSON


class SyncConflict(Base):
    """Both values of a field changed on both sides, kept until a person chooses."""

    __tablename__ = "sync_conflict"

    id: Mapped[str] = uuid_pk()
    # field | double-booking | rejected
    kind: Mapped[str] = mapped_column(String(20), default="field")
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    field: Mapped[str | None] = mapped_column(String(100))
    base_value: Mapped[str | None] = mapped_column(Text)
    local_value: Mapped[str | None] = mapped_column(Text)
    remote_value: Mapped[str | None] = mapped_column(Text)
    remote_version: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(36))
    resolution: Mapped[str | None] = mapped_column(String(20))


class BreakGlassGrant(Base):
    __tablename__ = "break_glass_grant"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_user.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patient.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
