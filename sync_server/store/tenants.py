"""Tenants and credentials in the store: clinics, devices, enrolment codes, admins, system
clients, access tokens and authentication attempts. Plain data access; the rules live in
``auth/service.py``. Secrets arrive here already hashed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from sync_server.store.clock import now_instant
from sync_server.store.models import (
    AccessToken,
    Admin,
    AuthAttempt,
    Clinic,
    Device,
    EnrolmentCode,
    SystemClient,
)

# A caller's audit hook: called by a state-changing use case inside its write transaction, once
# the change is made, with what the change made (a new id); what it writes commits with the
# change, and what it raises undoes the change. (The admin command line appends its entry so.)
AuditHook = Callable[[Session, dict[str, Any]], object]


@dataclass(frozen=True)
class DeviceInfo:
    id: str
    clinic_id: str
    name: str
    created_at: str
    revoked_at: str | None
    last_seen_at: str | None


def add_clinic(session: Session, name: str) -> str:
    clinic_id = str(uuid.uuid4())
    session.add(Clinic(id=clinic_id, name=name, created_at=now_instant(), change_seq=0))
    return clinic_id


def get_clinic(session: Session, clinic_id: str) -> Clinic | None:
    return session.get(Clinic, clinic_id)


def list_clinics(session: Session) -> list[tuple[str, str]]:
    return [(c.id, c.name) for c in session.execute(select(Clinic).order_by(Clinic.created_at))
            .scalars()]


def add_enrolment_code(session: Session, clinic_id: str, hashed: str, expires_at: str) -> None:
    session.add(EnrolmentCode(code_hash=hashed, clinic_id=clinic_id, created_at=now_instant(),
                              expires_at=expires_at))


def take_enrolment_code(session: Session, hashed: str) -> EnrolmentCode | None:
    """The unused, unexpired code row, locked; None otherwise."""
    row = session.execute(select(EnrolmentCode).where(EnrolmentCode.code_hash == hashed)
                          .with_for_update()).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now_instant():
        return None
    return row


def add_device(session: Session, clinic_id: str, name: str, hashed_token: str) -> str:
    device_id = str(uuid.uuid4())
    session.add(Device(id=device_id, clinic_id=clinic_id, name=name, token_hash=hashed_token,
                       created_at=now_instant()))
    return device_id


def list_devices(session: Session, clinic_id: str | None = None) -> list[DeviceInfo]:
    query = select(Device).order_by(Device.created_at)
    if clinic_id is not None:
        query = query.where(Device.clinic_id == clinic_id)
    return [DeviceInfo(d.id, d.clinic_id, d.name, d.created_at, d.revoked_at, d.last_seen_at)
            for d in session.execute(query).scalars()]


def revoke_device(session: Session, device_id: str) -> bool:
    result = session.execute(update(Device).where(Device.id == device_id,
                                                  Device.revoked_at.is_(None))
                             .values(revoked_at=now_instant()))
    return bool(getattr(result, "rowcount", 0))


def touch_device(session: Session, device_id: str, stamp: str) -> None:
    session.execute(update(Device).where(Device.id == device_id).values(last_seen_at=stamp))


def add_admin(session: Session, username: str, password_hash: str, totp_secret: str) -> str:
    admin_id = str(uuid.uuid4())
    session.add(Admin(id=admin_id, username=username, password_hash=password_hash,
                      totp_secret=totp_secret, last_totp_step=0, created_at=now_instant(),
                      disabled=False))
    return admin_id


def admin_by_name(session: Session, username: str) -> Admin | None:
    return session.execute(select(Admin).where(Admin.username == username)
                           .with_for_update()).scalar_one_or_none()


def add_system_client(session: Session, clinic_id: str, name: str, secret_hash: str,
                      scopes: str) -> str:
    client_id = str(uuid.uuid4())
    session.add(SystemClient(id=client_id, clinic_id=clinic_id, name=name,
                             secret_hash=secret_hash, scopes=scopes, created_at=now_instant()))
    return client_id


def get_system_client(session: Session, client_id: str) -> SystemClient | None:
    return session.get(SystemClient, client_id)


def list_system_clients(session: Session) -> list[SystemClient]:
    return list(session.execute(select(SystemClient).order_by(SystemClient.created_at)).scalars())


def revoke_system_client(session: Session, client_id: str) -> bool:
    result = session.execute(update(SystemClient).where(SystemClient.id == client_id,
                                                        SystemClient.revoked_at.is_(None))
                             .values(revoked_at=now_instant()))
    session.execute(delete(AccessToken).where(AccessToken.subject_id == client_id))
    return bool(getattr(result, "rowcount", 0))


def add_access_token(session: Session, *, hashed: str, kind: str, subject_id: str,
                     clinic_id: str | None, scopes: str, expires_at: str) -> None:
    session.execute(delete(AccessToken).where(AccessToken.expires_at < now_instant()))
    session.add(AccessToken(token_hash=hashed, kind=kind, subject_id=subject_id,
                            clinic_id=clinic_id, scopes=scopes, expires_at=expires_at))


def access_token(session: Session, hashed: str) -> AccessToken | None:
    row = session.get(AccessToken, hashed)
    return row if row is not None and row.expires_at > now_instant() else None


_ATTEMPT_LOCKS = 0x504D5341  # advisory lock class of the attempt counters ("PMSA")


def lock_attempt_keys(session: Session, keys: list[str]) -> None:
    """Serialise attempts on the same keys until the transaction ends, so that two attempts
    at once cannot both count the same free slot. SQLite needs nothing: its writers already
    run one at a time (``BEGIN IMMEDIATE``). Sorted, so that two callers never deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                        {"space": _ATTEMPT_LOCKS, "key": key})


def count_attempts(session: Session, key: str, since: float) -> int:
    return int(session.execute(select(func.count()).select_from(AuthAttempt).where(
        AuthAttempt.key == key, AuthAttempt.at >= since)).scalar_one())


def oldest_attempt(session: Session, key: str, since: float) -> int | None:
    value = session.execute(select(func.min(AuthAttempt.at)).where(
        AuthAttempt.key == key, AuthAttempt.at >= since)).scalar()
    return int(value) if value is not None else None


def record_attempt(session: Session, key: str) -> None:
    now = int(time.time())
    session.execute(delete(AuthAttempt).where(AuthAttempt.key == key,
                                              AuthAttempt.at < now - 3600))
    session.add(AuthAttempt(key=key, at=now))
