"""This workstation's record in the clinic: its name and the series code of its document numbers.

Invoice, credit-note and receipt numbers carry the issuing workstation's series code
(docs/billing.md), so a workstation needs a record with a code no other workstation of the
clinic uses before it can issue one. The clinic's first workstation gets it at set-up
(``clinic_setup``; a database older than workstation sync queues its own in migration 0003); a
workstation that joins a clinic gets it during its first sync, once the pull has brought the
clinic and the workstations already registered (``register``). The record syncs as a FHIR
Device, so the other workstations learn the code too.

Two workstations joining at the same moment could still draw the same code before either has
seen the other; each sync checks for that and the one that has not numbered anything yet draws
again (``settle_clash``). Used by ``SyncService``; acts as the workstation (no staff
permission), writing its own access-log entries. No Qt.
"""

from __future__ import annotations

import socket

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..store.models import Clinic, NumberSeries, Workstation
from ..sync import sync_state as st
from .base import ServiceCore, unit_of_work
from .billing_numbers import series_in_use
from .clinic_setup import SERIES_KINDS, new_series_code

NAME = "workstation_name"  # sync_state: the name given at enrolment, for the record made later
MAX_DRAWS = 200


class WorkstationRegistry:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def after_pull(self) -> bool:
        """Register this workstation if the clinic is here and it has no record yet, or draw a
        new code after a clash; True when its record changed (push it now)."""
        with self.core.sessions() as s:
            ws = _local(s)
            if ws is not None:
                clash = _clashes(s, ws)
            elif s.scalar(select(Clinic.id).limit(1)) is None:
                return False  # nothing pulled yet: the clinic's record comes first
        if ws is None:
            return self.register()
        return clash and self.settle_clash()

    def register(self, name: str | None = None) -> bool:
        with unit_of_work(self.core, None) as uow:
            s = uow.session
            if _local(s) is not None:
                return False
            clinic_id = s.scalars(select(Clinic.id)).first()
            if clinic_id is None:
                return False
            name = (name or st.get(s, NAME) or socket.gethostname() or "Workstation")[:100]
            ws = Workstation(clinic_id=clinic_id, name=name, series_code=_free_code(s),
                             is_local=True, created_at=self.core.now())
            s.add(ws)
            _ensure_series(s, ws.series_code)
            uow.changed(ws)
            uow.audit("workstation.register", resource_type="Device", resource_id=ws.id,
                      detail={"name": name, "series_code": ws.series_code})
            ws_id = ws.id
        self.core.workstation_id = ws_id
        return True

    def settle_clash(self) -> bool:
        """Another workstation has this one's series code: draw a new one, unless this one has
        numbered documents already (then it keeps it, and the other one, which has not, draws
        again when it syncs)."""
        with unit_of_work(self.core, None) as uow:
            s = uow.session
            ws = _local(s)
            if ws is None or not _clashes(s, ws) or series_in_use(s, ws.series_code):
                return False
            old, ws.series_code = ws.series_code, _free_code(s)
            _ensure_series(s, ws.series_code)
            uow.changed(ws)
            uow.audit("workstation.series_code", resource_type="Device", resource_id=ws.id,
                      detail={"was": old, "now": ws.series_code})
        return True


def _local(s: Session) -> Workstation | None:
    return s.scalars(select(Workstation).where(Workstation.is_local.is_(True))).first()


def _clashes(s: Session, ws: Workstation) -> bool:
    return bool(s.scalar(select(exists().where(
        Workstation.series_code == ws.series_code, Workstation.id != ws.id))))


def _free_code(s: Session) -> str:
    """A series code that no workstation of the clinic known here uses and no document number
    held here carries (a workstation whose record has not arrived yet may have numbered some)."""
    taken = set(s.scalars(select(Workstation.series_code)))
    for _ in range(MAX_DRAWS):
        code = new_series_code()
        if code not in taken and not series_in_use(s, code):
            return code
    raise RuntimeError("no free document series code")  # 1.7 million codes: not reached


def _ensure_series(s: Session, code: str) -> None:
    have = set(s.scalars(select(NumberSeries.kind).where(NumberSeries.series_code == code)))
    for kind in SERIES_KINDS:
        if kind not in have:
            s.add(NumberSeries(kind=kind, series_code=code, next_value=1))
