"""A central admin allows a device's access log to be re-anchored (``pms-sync-server admin
device-re-anchor``): the workstation was restored from a backup, so its log is shorter than what
the server acknowledged and every upload of it is refused (409, "log cut back").

Allowing is not doing: the device's next upload that is refused re-anchors its log after the
last entry both copies share (``device_log``), so the server never takes an admin's word for
where the log parts, and an admin cannot move it. Nothing the server holds is removed or
changed; the allowance and the re-anchor are both entries of the server's own access chain.
Chosen over re-enrolling the workstation as a new device: that would leave one log under two
device ids with the shared part twice, and a new device's first upload is accepted from the
genesis with no link to what the server held, so nothing would show the two belong together.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from sqlalchemy import select

from sync_server.audit import server_log
from sync_server.audit.device_log import streams
from sync_server.errors import Conflict, NotFound
from sync_server.store.clock import now_instant
from sync_server.store.db import Database
from sync_server.store.models import AuditHead, AuditReanchor, Device


@dataclass(frozen=True)
class Allowed:
    device_id: str
    clinic_id: str
    head_seq: int | None
    already: bool


def allow(db: Database, device_id: str, *, reason: str | None = None,
          by: str | None = None) -> Allowed:
    by = by or f"cli:{_user()}"
    with db.write() as session:
        device = session.get(Device, device_id)
        if device is None:
            raise NotFound("no device with that id (see admin device-list)")
        if device.revoked_at is not None:
            raise Conflict("that device is revoked: enrol the workstation again instead")
        stream = streams(session, device_id)[-1][0]
        head = session.get(AuditHead, stream)
        pending = session.execute(select(AuditReanchor).where(
            AuditReanchor.device_id == device_id, AuditReanchor.done_at.is_(None))
        ).scalars().first()
        if pending is not None:
            return Allowed(device_id, device.clinic_id, head.seq if head else None, True)
        stamp = now_instant()
        row = AuditReanchor(device_id=device_id, clinic_id=device.clinic_id, allowed_at=stamp,
                            allowed_by=by[:200], reason=reason)
        session.add(row)
        session.flush()
        server_log.append_in(session, {
            "at": stamp, "actor": by, "clinic_id": device.clinic_id,
            "interaction": "audit-re-anchor-allowed", "device_id": device_id,
            "reanchor_id": row.id, "reason": reason, "stream_id": stream,
            "head": {"seq": head.seq, "hash": head.hash} if head else None})
        return Allowed(device_id, device.clinic_id, head.seq if head else None, False)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"
