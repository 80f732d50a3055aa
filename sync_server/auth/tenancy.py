"""Tenant management shared by the admin API and the admin command line."""

from __future__ import annotations

from sync_server.errors import BadRequest, NotFound
from sync_server.store import tenants
from sync_server.store.db import Database
from sync_server.store.tenants import AuditHook, DeviceInfo


def add_clinic(db: Database, name: str, *, audit: AuditHook | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("a clinic name has 1 to 200 characters")
    with db.write() as session:
        clinic_id = tenants.add_clinic(session, name)
        if audit is not None:
            audit(session, {"clinic_id": clinic_id})
        return clinic_id


def list_clinics(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        return tenants.list_clinics(session)


def list_devices(db: Database, clinic_id: str | None = None) -> list[DeviceInfo]:
    with db.read() as session:
        if clinic_id is not None and tenants.get_clinic(session, clinic_id) is None:
            raise NotFound("unknown clinic")
        return tenants.list_devices(session, clinic_id)


def revoke_device(db: Database, device_id: str, *, audit: AuditHook | None = None) -> None:
    with db.write() as session:
        if not tenants.revoke_device(session, device_id):
            raise NotFound("no active device with that id")
        if audit is not None:
            audit(session, {})


def revoke_system_client(db: Database, client_id: str, *,
                         audit: AuditHook | None = None) -> None:
    with db.write() as session:
        if not tenants.revoke_system_client(session, client_id):
            raise NotFound("no active system client with that id")
        if audit is not None:
            audit(session, {})


def list_system_clients(db: Database) -> list[dict[str, str | None]]:
    with db.read() as session:
        return [{"id": c.id, "clinic_id": c.clinic_id, "name": c.name, "scopes": c.scopes,
                 "revoked_at": c.revoked_at} for c in tenants.list_system_clients(session)]
