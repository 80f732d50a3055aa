"""Renaming this workstation: a clinic admin's action, audited with the old and new names,
queued to the clinic's other workstations (the record syncs as a Device) and, once enrolled, to
the sync server's device list; bad names are refused on the field and change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied, ValidationError
from pms_desktop.domain.session import StaffSession
from pms_desktop.services.workstation_names import MAX_NAME, PENDING
from pms_desktop.store.models import AuditEntry, OutboxChange
from pms_desktop.sync import sync_state as st


def _last_entry(ctx: AppContext) -> AuditEntry:
    with ctx.db.sessions()() as s:
        return s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()


def _outbox(ctx: AppContext, row_id: str) -> int:
    with ctx.db.sessions()() as s:
        return len(s.scalars(select(OutboxChange).where(
            OutboxChange.resource_id == row_id)).all())


def test_a_clinic_admin_renames_the_workstation(
        ctx: AppContext, actors: dict[Role, StaffSession]) -> None:
    names = ctx.workstation  # type: ignore[attr-defined]
    before = names.current()
    assert before.name and before.id and before.on_server
    queued = _outbox(ctx, before.id)
    after = names.rename_workstation(actors[Role.CLINIC_ADMIN], name="  Reception 1 ")
    assert after.name == "Reception 1" and after.id == before.id
    assert after.on_server  # not enrolled: nothing to send to a server
    assert names.current().name == "Reception 1"
    entry = _last_entry(ctx)
    assert (entry.action, entry.outcome, entry.resource_id) == (
        "workstation.rename", "success", before.id)
    assert json.loads(entry.detail) == {"old": before.name, "new": "Reception 1"}
    assert _outbox(ctx, before.id) == max(queued, 1)  # the Device record goes to the clinic
    with ctx.db.sessions()() as s:
        assert st.get(s, "workstation_name") == "Reception 1"


def test_an_enrolled_workstation_sends_the_name_with_its_next_sync(
        ctx: AppContext, actors: dict[Role, StaffSession]) -> None:
    with ctx.db.sessions()() as s, s.begin():
        st.put(s, st.DEVICE_ID, "device-1")
    renamed = ctx.workstation.rename_workstation(  # type: ignore[attr-defined]
        actors[Role.CLINIC_ADMIN], name="Room 3")
    assert not renamed.on_server
    with ctx.db.sessions()() as s:
        assert st.get(s, PENDING) == "Room 3"


@pytest.mark.parametrize("bad", ["", "   ", "x" * (MAX_NAME + 1), "Room\t3"])
def test_bad_names_are_refused_on_the_field(
        ctx: AppContext, actors: dict[Role, StaffSession], bad: str) -> None:
    before = ctx.workstation.current()  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as refused:
        ctx.workstation.rename_workstation(  # type: ignore[attr-defined]
            actors[Role.CLINIC_ADMIN], name=bad)
    assert set(refused.value.field_errors) == {"name"}
    assert ctx.workstation.current() == before  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.CLINICIAN, Role.PRACTICE_MANAGER])
def test_other_roles_are_refused_and_logged(
        ctx: AppContext, actors: dict[Role, StaffSession], role: Role) -> None:
    before = ctx.workstation.current()  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):
        ctx.workstation.rename_workstation(actors[role], name="Mine now")  # type: ignore[attr-defined]
    assert ctx.workstation.current() == before  # type: ignore[attr-defined]
    entry = _last_entry(ctx)
    assert (entry.action, entry.outcome) == ("workstation.rename", "refused")
