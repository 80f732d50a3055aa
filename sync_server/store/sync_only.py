"""Sync-only resources: staff accounts, which travel between a clinic's workstations through the
sync API and are never served, nor accepted, by the FHIR API.

A staff account is a ``Basic`` whose ``code`` holds the code ``staff-user``, or any ``Basic``
that carries a ``sealed-credentials`` extension (the clinic's sealed password hashes and TOTP
secrets; the server cannot open them). Such a resource is *marked* when it is first pushed and
stays marked whatever later versions hold, so that no version of it, tombstones included,
reaches a FHIR search, read, vread, history or Bundle. Knows nothing of HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, insert, select
from sqlalchemy.orm import Session

from sync_server.errors import BadRequest
from sync_server.store.models import SyncOnlyResource

HIDDEN_TYPE = "Basic"
STAFF_CODE = "staff-user"
SEALED_SUFFIX = "/sealed-credentials"


def is_sync_only(resource: dict[str, Any] | None) -> bool:
    """True for a staff account; a sealed-credentials extension on any other type is refused."""
    if not isinstance(resource, dict):
        return False
    sealed = any(isinstance(e, dict) and str(e.get("url", "")).endswith(SEALED_SUFFIX)
                 for e in resource.get("extension") or ())
    if resource.get("resourceType") != HIDDEN_TYPE:
        if sealed:
            raise BadRequest("sealed credentials travel only on staff accounts (Basic)",
                             expression="extension")
        return False
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    staff = any(isinstance(c, dict) and c.get("code") == STAFF_CODE for c in codings or ())
    return staff or sealed


def is_marked(session: Session, clinic_id: str, resource_type: str, resource_id: str) -> bool:
    if resource_type != HIDDEN_TYPE:
        return False
    return session.execute(select(SyncOnlyResource.resource_id).where(
        SyncOnlyResource.clinic_id == clinic_id,
        SyncOnlyResource.resource_type == resource_type,
        SyncOnlyResource.resource_id == resource_id)).first() is not None


def mark(session: Session, clinic_id: str, resource_type: str, resource_id: str) -> None:
    """Mark a resource sync-only (idempotent; the caller holds the clinic lock)."""
    if not is_marked(session, clinic_id, resource_type, resource_id):
        session.execute(insert(SyncOnlyResource).values(
            clinic_id=clinic_id, resource_type=resource_type, resource_id=resource_id))


def visible(table: Any) -> ColumnElement[bool]:
    """SQL: the row of ``table`` (resources or resource_versions) is not sync-only."""
    return ~exists().where(SyncOnlyResource.clinic_id == table.clinic_id,
                           SyncOnlyResource.resource_type == table.resource_type,
                           SyncOnlyResource.resource_id == table.resource_id)


def filters_type(resource_type: str | None) -> bool:
    """Whether queries over ``resource_type`` (None: every type) need the ``visible`` filter."""
    return resource_type in (None, HIDDEN_TYPE)
