"""This workstation's name ("Reception 1", "Room 3"): shown, and changed by a clinic admin.

A workstation is named at set-up or when it joins the clinic; a clinic admin renames it here
later. The name is held in three places, all changed in one transaction: the workstation's own
record (it syncs as a FHIR ``Device``, so the clinic's other workstations learn it), the name
kept for a record made later (``workstation_registry.NAME``: a workstation that joined and has
not synced yet), and, for an enrolled workstation, a name waiting to reach the sync server: the
next sync sends it (``send_pending_name``, ``PUT /sync/devices/{id}/name`` with the device's own
credential), so the central admin's device list shows it. No Qt.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..store.models import Workstation
from ..sync import sync_state as st
from ..sync.transport import SyncClient, SyncRefused
from .base import ServiceCore, UnitOfWork, operation
from .workstation_registry import NAME

log = logging.getLogger(__name__)
PENDING = "workstation_name_to_send"  # sync_state: renamed here, not yet on the server
MAX_NAME = 100


@dataclass(frozen=True)
class WorkstationName:
    name: str | None  # None: never named (neither set up nor enrolled)
    id: str | None  # the workstation's record, once it has one
    on_server: bool  # False: enrolled, and the next sync sends the name


def name_problem(name: str) -> str | None:
    """Why a name cannot be kept, in words for the form; None when it can."""
    clean = name.strip()
    if not clean:
        return "Give this workstation a name, e.g. Reception 1."
    if len(clean) > MAX_NAME:
        return f"At most {MAX_NAME} characters ({len(clean)} now)."
    if any(unicodedata.category(ch).startswith("C") for ch in clean):
        return "Letters, digits, spaces and punctuation only."
    return None


def _local(s: Session) -> Workstation | None:
    return s.scalars(select(Workstation).where(Workstation.is_local.is_(True))).first()


def _read(s: Session) -> WorkstationName:
    ws = _local(s)
    name = ws.name if ws is not None else st.get(s, NAME)
    return WorkstationName(name, ws.id if ws else None, st.get(s, PENDING) is None)


class WorkstationNamesService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def current(self) -> WorkstationName:
        """For the status bar and the Sync screen: no patient data, so not an audited read."""
        with self.core.sessions() as s:
            return _read(s)

    @operation(Permission.SETTINGS, "workstation.rename", resource_type="Device")
    def rename_workstation(self, uow: UnitOfWork, *, name: str) -> WorkstationName:
        problem = name_problem(name)
        if problem is not None:
            raise ValidationError({"name": problem})
        clean, s = name.strip(), uow.session
        ws = _local(s)
        old = ws.name if ws is not None else st.get(s, NAME)
        if clean != old:
            if ws is not None:
                ws.name = clean
                uow.changed(ws)  # the clinic's other workstations learn it through sync
            st.put(s, NAME, clean)
            if st.get(s, st.DEVICE_ID):
                st.put(s, PENDING, clean)
            uow.audit("workstation.rename", resource_type="Device",
                      resource_id=ws.id if ws else None, detail={"old": old, "new": clean})
            self.core.notify("workstation.renamed", name=clean)
        return _read(s)


def local_name(core: ServiceCore) -> str | None:
    """The name this workstation goes by here, for an enrolment that names none."""
    with core.sessions() as s:
        return _read(s).name


def enrolled_as(uow: UnitOfWork, name: str) -> None:
    """In the enrolment's transaction: the server knows the workstation by ``name`` now, so
    the workstation's own record takes it too (one name, wherever it is shown)."""
    s = uow.session
    ws = _local(s)
    if ws is not None and ws.name != name:
        ws.name = name
        uow.changed(ws)
    st.put(s, NAME, name)
    st.put(s, PENDING, None)


def send_pending_name(core: ServiceCore, client: SyncClient) -> None:
    """During a sync, as the workstation: give the server the name a clinic admin set. A name
    the server refuses is dropped (logged): it must not stop the sync."""
    with core.sessions() as s:
        name, device_id = st.get(s, PENDING), st.get(s, st.DEVICE_ID)
    if not name or not device_id:
        return
    try:
        client.rename_device(device_id, name)
    except SyncRefused as e:
        if e.status in (401, 403):
            raise  # the credential itself is refused: the sync says so
        log.warning("the sync server refused this workstation's name (%s)", e.status)
    with core.sessions() as s, s.begin():
        if st.get(s, PENDING) == name:  # not renamed again meanwhile
            st.put(s, PENDING, None)
