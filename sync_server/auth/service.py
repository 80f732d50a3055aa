"""Authentication use cases: enrolment, admin sign-in, client credentials, bearer lookup.

Every attempt at an authentication endpoint is counted first (``check_rate``) in its own
committed transaction, so that failed guesses count too and a burst is cut off. Failures say
as little as possible: an unknown, used or expired code all answer "invalid enrolment code".
"""

from __future__ import annotations

import functools
import hmac
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from sync_server.auth import secrets as sec
from sync_server.auth.principal import Principal, valid_scope
from sync_server.errors import BadRequest, NotFound, RateLimited, Unauthorized
from sync_server.settings import Settings
from sync_server.store import tenants
from sync_server.store.clock import later, now_instant
from sync_server.store.db import Database
from sync_server.store.models import Device
from sync_server.store.tenants import AuditHook

SEEN_EVERY_SECONDS = 300
# Every device request looks its credential up: the columns it needs, one statement built once
# (the ORM entity cost twice the query itself). Nothing is cached: a revocation counts at once.
_DEVICE_BY_TOKEN = select(Device.id, Device.clinic_id, Device.revoked_at, Device.last_seen_at
                          ).where(Device.token_hash == bindparam("hashed"))


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    clinic_id: str
    clinic_name: str
    token: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def check_rate(db: Database, settings: Settings, keys: list[str]) -> None:
    """Refuse with 429 when any key is over its hourly or burst budget; else count the try."""
    rate = settings.auth_rate
    now = time.time()
    with db.write() as session:
        tenants.lock_attempt_keys(session, keys)
        for key in keys:
            hour = tenants.count_attempts(session, key, now - 3600)
            burst = tenants.count_attempts(session, key, now - rate.burst_seconds)
            if hour >= rate.per_hour or burst >= rate.burst:
                window = 3600 if hour >= rate.per_hour else rate.burst_seconds
                oldest = tenants.oldest_attempt(session, key, now - window) or int(now)
                retry = max(1, int(oldest + window - now) + 1)
                raise RateLimited("too many attempts; retry later",
                                  headers={"Retry-After": str(retry)})
        for key in keys:
            tenants.record_attempt(session, key)


def new_enrolment_code(db: Database, clinic_id: str, ttl_hours: int, *,
                       audit: AuditHook | None = None) -> str:
    code = sec.new_enrolment_code()
    with db.write() as session:
        if tenants.get_clinic(session, clinic_id) is None:
            raise NotFound("unknown clinic")
        tenants.add_enrolment_code(session, clinic_id, sec.code_hash(code),
                                   later(ttl_hours * 3600))
        if audit is not None:
            audit(session, {})
    return code


def enrol(db: Database, code: str, device_name: str) -> Enrolment:
    """Exchange a one-time code for a device credential; the code cannot be used again."""
    token = sec.new_token(sec.DEVICE_PREFIX)
    with db.write() as session:
        row = tenants.take_enrolment_code(session, sec.code_hash(code))
        if row is None:
            raise Unauthorized("invalid enrolment code")
        device_id = tenants.add_device(session, row.clinic_id, device_name, sec.token_hash(token))
        row.used_at = now_instant()
        row.device_id = device_id
        clinic = tenants.get_clinic(session, row.clinic_id)
        name = clinic.name if clinic else ""
        return Enrolment(device_id, row.clinic_id, name, token)


@functools.cache
def _stand_in_hash() -> str:
    return sec.hash_password(sec.new_token("stand-in-"))


def add_admin(db: Database, username: str, password: str, *,
              audit: AuditHook | None = None) -> str:
    """Create a central admin; returns the TOTP secret, shown once."""
    if len(password) < 12:
        raise BadRequest("admin passwords need at least 12 characters")
    secret = sec.new_totp_secret()
    with db.write() as session:
        if tenants.admin_by_name(session, username) is not None:
            raise BadRequest("an admin with that name exists")
        tenants.add_admin(session, username, sec.hash_password(password), secret)
        if audit is not None:
            audit(session, {})
    return secret


def admin_login(db: Database, settings: Settings, username: str, password: str,
                totp: str) -> IssuedToken:
    with db.write() as session:
        admin = tenants.admin_by_name(session, username)
        # The password is always checked, against a stand-in hash when there is no such admin,
        # so that the time an answer takes does not tell which admin names exist.
        stored = admin.password_hash if admin is not None else _stand_in_hash()
        ok = sec.verify_password(stored, password) and admin is not None and not admin.disabled
        step = sec.totp_step(admin.totp_secret, totp, after_step=admin.last_totp_step) \
            if ok and admin is not None else None
        if admin is None or step is None:
            raise Unauthorized("invalid credentials")
        admin.last_totp_step = step
        token = sec.new_token(sec.ADMIN_PREFIX)
        tenants.add_access_token(session, hashed=sec.token_hash(token), kind="admin",
                                 subject_id=admin.id, clinic_id=None, scopes="admin",
                                 expires_at=later(settings.token_ttl_seconds))
    return IssuedToken(token, settings.token_ttl_seconds, "admin")


def add_system_client(db: Database, clinic_id: str, name: str, scopes: list[str], *,
                      audit: AuditHook | None = None) -> tuple[str, str]:
    """Register a system client; returns (client_id, client_secret), the secret shown once."""
    bad = [s for s in scopes if not valid_scope(s)]
    if not scopes or bad:
        raise BadRequest("scopes look like system/*.read or system/Patient.write")
    secret = sec.new_token("pmsc_")
    with db.write() as session:
        if tenants.get_clinic(session, clinic_id) is None:
            raise NotFound("unknown clinic")
        client_id = tenants.add_system_client(session, clinic_id, name, sec.token_hash(secret),
                                              " ".join(scopes))
        if audit is not None:
            audit(session, {"client_id": client_id})
    return client_id, secret


def client_credentials(db: Database, settings: Settings, client_id: str, secret: str,
                       scope: str | None) -> IssuedToken:
    with db.write() as session:
        client = tenants.get_system_client(session, client_id)
        if client is None or client.revoked_at is not None or not hmac.compare_digest(
                client.secret_hash, sec.token_hash(secret)):
            raise Unauthorized("invalid client credentials")
        granted = client.scopes.split()
        if scope:
            asked = scope.split()
            if not set(asked) <= set(granted):
                raise BadRequest("requested scope exceeds the client's scopes")
            granted = asked
        token = sec.new_token(sec.SYSTEM_PREFIX)
        tenants.add_access_token(session, hashed=sec.token_hash(token), kind="system",
                                 subject_id=client.id, clinic_id=client.clinic_id,
                                 scopes=" ".join(granted),
                                 expires_at=later(settings.token_ttl_seconds))
    return IssuedToken(token, settings.token_ttl_seconds, " ".join(granted))


def authenticate(db: Database, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer`` header; 401 when missing or unknown."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise Unauthorized()
    hashed = sec.token_hash(token)
    if token.startswith(sec.DEVICE_PREFIX):
        with db.read_each() as connection:  # one statement: no transaction of its own
            device = connection.execute(_DEVICE_BY_TOKEN, {"hashed": hashed}).one_or_none()
        if device is None or device.revoked_at is not None:
            raise Unauthorized("unknown or revoked device credential")
        seen, who = device.last_seen_at, Principal("device", device.id, device.clinic_id)
        if seen is None or seen < later(-SEEN_EVERY_SECONDS):
            with db.write() as session:  # at most one write every few minutes per device
                tenants.touch_device(session, who.id, now_instant())
        return who
    with db.read() as session:
        row = tenants.access_token(session, hashed)
        if row is None:
            raise Unauthorized("unknown or expired token")
        if row.kind == "system":
            client = tenants.get_system_client(session, row.subject_id)
            if client is None or client.revoked_at is not None:
                raise Unauthorized("revoked client")
        return Principal(row.kind, row.subject_id, row.clinic_id, frozenset(row.scopes.split()))
