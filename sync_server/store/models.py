"""ORM tables of the server's own schema (changed only through Alembic migrations).

Times are UTC instants stored as fixed-width strings ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so that
they sort and compare the same way on SQLite and PostgreSQL. Secrets are stored only as hashes.
Every clinical table carries ``clinic_id`` first in its key: the tenant boundary.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(64)
INSTANT = String(32)


class Base(DeclarativeBase):
    pass


class Clinic(Base):
    """A tenant. ``change_seq`` is the per-clinic counter row that writers lock first."""

    __tablename__ = "clinics"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(INSTANT)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(INSTANT)
    revoked_at: Mapped[str | None] = mapped_column(INSTANT, nullable=True)
    last_seen_at: Mapped[str | None] = mapped_column(INSTANT, nullable=True)


class EnrolmentCode(Base):
    __tablename__ = "enrolment_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), index=True)
    created_at: Mapped[str] = mapped_column(INSTANT)
    expires_at: Mapped[str] = mapped_column(INSTANT)
    used_at: Mapped[str | None] = mapped_column(INSTANT, nullable=True)
    device_id: Mapped[str | None] = mapped_column(ID, nullable=True)


class Admin(Base):
    __tablename__ = "admins"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(String(64))
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[str] = mapped_column(INSTANT)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class SystemClient(Base):
    __tablename__ = "system_clients"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(INSTANT)
    revoked_at: Mapped[str | None] = mapped_column(INSTANT, nullable=True)


class AccessToken(Base):
    """A short-lived bearer token issued to an admin or a system client."""

    __tablename__ = "access_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    clinic_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    scopes: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[str] = mapped_column(INSTANT)


class AuthAttempt(Base):
    __tablename__ = "auth_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_auth_attempts_key_at", "key", "at"),)


class ResourceCurrent(Base):
    """The current version of each resource (a tombstone when deleted).

    The clinic references of this table, ``resource_versions`` and ``sync_changes`` are not
    checked by PostgreSQL since migration 0004 (SQLite's still are): every transaction writing
    them holds its clinic's row locked (``ResourceWriter``), and clinics are never deleted."""

    __tablename__ = "resources"
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_updated: Mapped[str] = mapped_column(INSTANT)
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_resources_type_updated", "clinic_id", "resource_type",
                            "last_updated"),)


class ResourceVersion(Base):
    """Every version ever stored; ``seq`` is the clinic's change sequence (unique per clinic)."""

    __tablename__ = "resource_versions"
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_updated: Mapped[str] = mapped_column(INSTANT)
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (UniqueConstraint("clinic_id", "seq", name="uq_versions_clinic_seq"),
                      Index("ix_versions_type_updated", "clinic_id", "resource_type",
                            "last_updated"))


class SearchIndex(Base):
    """Extracted search values: ``text`` is the normalised string, code or ``Type/id``.

    Keyed by its owner and the row's place among the owner's rows (``ordinal``, 0, 1, ...):
    the key is also the index that finds a resource's rows (migration 0004). On PostgreSQL
    the key is not kept by the database: a hash index of ``resource_id`` finds a resource's
    rows (migration 0005), and the writer keeps ``(owner, ordinal)`` unique."""

    __tablename__ = "search_index"
    clinic_id: Mapped[str] = mapped_column(ID, primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    param: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(String(512), nullable=True)
    aux: Mapped[str | None] = mapped_column(String(512), nullable=True)
    low: Mapped[str | None] = mapped_column(INSTANT, nullable=True)
    high: Mapped[str | None] = mapped_column(INSTANT, nullable=True)
    __table_args__ = (
        Index("ix_search_value", "clinic_id", "resource_type", "param", "text"),
    )


class SyncChange(Base):
    """The first answer given to each pushed change id, replayed verbatim."""

    __tablename__ = "sync_changes"
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    change_id: Mapped[str] = mapped_column(ID, primary_key=True)
    device_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(INSTANT)


class AuditHead(Base):
    """The last chain head acknowledged for each device."""

    __tablename__ = "audit_heads"
    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(ID)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[str] = mapped_column(INSTANT)


class AuditEntry(Base):
    """A workstation's audit entry exactly as received (canonical JSON, hash included)."""

    __tablename__ = "audit_entries"
    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    clinic_id: Mapped[str] = mapped_column(ID, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry: Mapped[str] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(INSTANT)


class AuditReanchor(Base):
    """A central admin's re-anchor of a device's access log (a workstation restored from a
    backup, whose log is now shorter than what the server acknowledged).

    Allowed by the admin (``allowed_*``), then done at the device's next upload, which is
    checked against what the server holds: the log goes on in a new *stream* of the device
    (``stream_id``, its entries and head stored under that id) after ``fork_seq``, the last
    entry both copies share. What the device sent before, its old head included, stays as it
    was. Both steps are in the server's own access chain (with the stream it parted from and
    that stream's head)."""

    __tablename__ = "audit_reanchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ID, index=True)
    clinic_id: Mapped[str] = mapped_column(ID)
    allowed_at: Mapped[str] = mapped_column(INSTANT)
    allowed_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    done_at: Mapped[str | None] = mapped_column(INSTANT, nullable=True)
    stream_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    fork_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    fork_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ServerAuditHead(Base):
    """One row (id 1): the head of the server's own access chain, locked to append."""

    __tablename__ = "server_audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class ServerAuditEntry(Base):
    __tablename__ = "server_audit"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry: Mapped[str] = mapped_column(Text)


class ClinicKey(Base):
    """The clinic key as the workstations left it: wrapped under a code the server never sees.

    Workstations seal staff credentials under the clinic key; a new workstation fetches this
    blob and opens it with the code a clinic admin types (docs/sync-protocol.md).
    """

    __tablename__ = "clinic_keys"
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64))
    wrapped: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[str] = mapped_column(INSTANT)
    updated_at: Mapped[str] = mapped_column(INSTANT)


class SyncOnlyResource(Base):
    """Resources that travel only through the sync API (staff accounts): never served by FHIR.

    A resource once marked stays marked, so none of its versions ever reaches the FHIR API.
    """

    __tablename__ = "sync_only_resources"
    clinic_id: Mapped[str] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
