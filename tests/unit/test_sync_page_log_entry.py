"""A pulled page's one access-log entry, as a page applied change by change leaves it (on a real
encrypted store, no server): a change the store refuses (rolled back to its savepoint, held as an
``unapplied`` conflict) is not named, one held as a possible duplicate is; a change refused after
it was noted (the savepoint's flush) leaves the entry as it was before it, and a page that
applied nothing writes no entry at all (not one naming an empty list)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pms_desktop.domain.enums import Role
from pms_desktop.domain.ids import new_id
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import AuditEntry, SyncConflict
from pms_desktop.sync.remote_apply import RemoteApplier

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     mrn="MRN-77")


def _page_applier(s: Any, ctx: Any) -> RemoteApplier:
    applier = RemoteApplier(s, ctx.sync.rmap, ctx.core.workstation_id,
                            lambda: datetime.now(UTC))
    applier.page_log = {}  # as the pull's careful path sets it
    return applier


def _refused() -> tuple[str, dict[str, Any]]:
    """An appointment of a patient this workstation does not hold: the store refuses it."""
    rid = new_id()
    return rid, {"resourceType": "Appointment", "id": rid, "status": "booked",
                 "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:15:00Z",
                 "participant": [{"actor": {"reference": f"Patient/{new_id()}"},
                                  "status": "accepted"}]}


def _twin(ctx: Any, here: str) -> tuple[str, dict[str, Any]]:
    with ctx.db.sessions()() as s:
        theirs = copy.deepcopy(ctx.sync.rmap.resource_for(s, "patient", here))
    theirs["id"] = other = new_id()
    for part in theirs.get("identifier", []) + theirs.get("telecom", []):
        if part.get("id") != "email":
            part["id"] = new_id()
    theirs.pop("meta", None)
    return other, theirs


def _sync_applies(ctx: Any) -> list[dict[str, Any]]:
    with ctx.db.sessions()() as s:
        return [json.loads(e.detail or "{}") for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "sync.apply").order_by(AuditEntry.seq))]


def test_a_refused_change_is_not_named_and_a_page_of_only_refusals_writes_no_entry(
        ctx, actors) -> None:  # type: ignore[no-untyped-def]
    here = ctx.patients.register_patient(actors[Role.RECEPTION], draft=DRAFT).id
    refused, appointment = _refused()
    twin, patient = _twin(ctx, here)

    with ctx.db.sessions()() as s, s.begin():
        applier = _page_applier(s, ctx)
        assert not applier.apply_guarded("Appointment", refused, 3, "upsert", appointment)
        assert applier.apply_guarded("Patient", twin, 2, "upsert", patient)  # held, flagged
        applier.log_page(0, 10, 2)
    [entry] = _sync_applies(ctx)
    assert entry["applied"] == {f"Patient/{twin}": 2}
    assert "deleted" not in entry

    with ctx.db.sessions()() as s, s.begin():
        applier = _page_applier(s, ctx)
        assert not applier.apply_guarded("Appointment", refused, 4, "upsert", appointment)
        applier.log_page(10, 11, 1)
    assert len(_sync_applies(ctx)) == 1, "a page that applied nothing wrote an entry"
    with ctx.db.sessions()() as s:  # the refusal waits as a conflict, as before
        assert s.scalar(select(func.count()).select_from(SyncConflict).where(
            SyncConflict.kind == "unapplied", SyncConflict.resource_id == refused)) == 1


def test_a_change_refused_after_it_was_noted_leaves_the_entry_as_before(
        ctx, actors, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    here = ctx.patients.register_patient(actors[Role.RECEPTION], draft=DRAFT).id
    other, patient = _twin(ctx, here)
    patient["identifier"] = [i for i in patient.get("identifier", [])
                             if "MRN-77" not in json.dumps(i)]  # no clash: applied as it is
    refuse: set[tuple[str, int]] = set()
    real_audit = RemoteApplier._audit

    def audit(self: RemoteApplier, table: str, rtype: str, rid: str, version: int,
              op: str) -> None:
        real_audit(self, table, rtype, rid, version, op)
        if (rid, version) in refuse:  # as the savepoint's flush refusing it would, once noted
            raise IntegrityError("UPDATE patient", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(RemoteApplier, "_audit", audit)
    refuse.add((other, 3))
    with ctx.db.sessions()() as s, s.begin():
        applier = _page_applier(s, ctx)
        assert applier.apply_guarded("Patient", other, 2, "upsert", patient)
        assert not applier.apply_guarded("Patient", other, 3, "upsert", patient)
        assert not applier.apply_guarded("Patient", other, 3, "delete", None)
        applier.log_page(0, 3, 3)
    [entry] = _sync_applies(ctx)
    assert entry["applied"] == {f"Patient/{other}": 2} and "deleted" not in entry

    with ctx.db.sessions()() as s, s.begin():  # a page whose only change is refused so
        applier = _page_applier(s, ctx)
        assert not applier.apply_guarded("Patient", other, 3, "upsert", patient)
        applier.log_page(3, 4, 1)
    assert len(_sync_applies(ctx)) == 1, "a page that applied nothing wrote an entry"
