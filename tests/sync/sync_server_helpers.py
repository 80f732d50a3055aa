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


def fhir_holdings(ctx: AppContext) -> dict[str, dict[str, Any]]:
    """Every record of every synced table as its FHIR resource (child rows included), keyed by
    ``table/id``: what two converged workstations must hold identically. Local-only columns
    (``local_revision``) are not in the resources."""
    rmap = ctx.sync.rmap  # type: ignore[attr-defined]
    out: dict[str, dict[str, Any]] = {}
    with ctx.db.sessions()() as s:
        for table in rmap.tables:
            model = rmap.model(table)
            for rid in s.scalars(select(model.id)):
                out[f"{table}/{rid}"] = rmap.resource_for(s, table, rid)
    return out


def diff_holdings(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """A readable list of what differs between two holdings (empty when they agree)."""
    out = [f"only on the first: {k}" for k in sorted(set(a) - set(b))]
    out += [f"only on the second: {k}" for k in sorted(set(b) - set(a))]
    for key in sorted(set(a) & set(b)):
        if a[key] != b[key]:
            fields = sorted(f for f in set(a[key]) | set(b[key]) if a[key].get(f) != b[key].get(f))
            out.append(f"{key}: {', '.join(fields)}: "
                       + "; ".join(f"{a[key].get(f)!r} != {b[key].get(f)!r}" for f in fields)[:600])
    return out
