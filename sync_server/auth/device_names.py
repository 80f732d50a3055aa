"""A device names itself: the workstation's name as the central admin sees it (``admin
device-list``, ``GET /admin/clinics/{id}/devices``).

Set at enrolment; a clinic admin renames the workstation later on the workstation itself, and
its next sync sends the new name here with the device's own credential (a device renames only
itself). Names are shown to people, never used as keys.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from sync_server.errors import BadRequest, NotFound
from sync_server.store.db import Database
from sync_server.store.models import Device

MAX_NAME = 200


@dataclass(frozen=True)
class Renamed:
    device_id: str
    old_name: str
    name: str


def clean_name(value: object) -> str:
    """The name as kept: trimmed, 1 to ``MAX_NAME`` characters, no control characters."""
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME or any(
            unicodedata.category(ch).startswith("C") for ch in name):
        raise BadRequest(f"name must be 1 to {MAX_NAME} printable characters",
                         expression="name")
    return name


def rename_device(db: Database, device_id: str, name: object) -> Renamed:
    new = clean_name(name)
    with db.write() as session:
        device = session.execute(select(Device).where(
            Device.id == device_id, Device.revoked_at.is_(None)).with_for_update()
        ).scalar_one_or_none()
        if device is None:
            raise NotFound("no active device with that id")
        old, device.name = device.name, new
        return Renamed(device_id, old, new)
