"""What a workstation holds, comparable across workstations (the synced columns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.store.models import Appointment, Patient

IGNORED = {"local_revision", "phone_digits"}


def holdings(ctx: AppContext) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with ctx.db.sessions()() as s:
        for model in (Patient, Appointment):
            for row in s.scalars(select(model).where(model.server_version.is_not(None))):
                out[row.id] = {c.key: getattr(row, c.key) for c in model.__table__.columns
                               if c.key not in IGNORED}
    return out
