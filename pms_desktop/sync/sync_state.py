"""Small helpers over the ``sync_state`` key/value table and the merge bases (``sync_base``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import SyncBase, SyncState

PULL_CURSOR = "pull_cursor"
SERVER_URL = "server_url"
CA_FILE = "ca_file"
DEVICE_ID = "device_id"
CLINIC_ID = "server_clinic_id"
LAST_SYNC = "last_sync_at"
LAST_ERROR = "last_error"
AUDIT_HEAD = "audit_shipped_seq"
DIGEST_OK = "digest_ok"


def get(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(SyncState, key)
    return row.value if row is not None else default


def put(session: Session, key: str, value: str | None) -> None:
    row = session.get(SyncState, key)
    if value is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def base_of(session: Session, resource_type: str, resource_id: str) -> SyncBase | None:
    return session.scalars(select(SyncBase).where(SyncBase.resource_type == resource_type,
                                                  SyncBase.resource_id == resource_id)).first()


def base_resource(session: Session, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    row = base_of(session, resource_type, resource_id)
    return json.loads(row.resource) if row is not None else None


def set_base(session: Session, resource_type: str, resource_id: str, version: int,
             resource: dict[str, Any] | None) -> None:
    """Remember the version both sides agreed on (``None``: a tombstone)."""
    row = base_of(session, resource_type, resource_id)
    text = json.dumps(resource if resource is not None else {"deleted": True}, sort_keys=True)
    if row is None:
        session.add(SyncBase(resource_type=resource_type, resource_id=resource_id,
                             version=version, resource=text))
    else:
        row.version, row.resource = version, text
