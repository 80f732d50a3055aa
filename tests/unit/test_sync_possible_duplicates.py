"""Possible duplicates as a pull leaves them, on a real encrypted store (no server): a patient
pulled with the MRN and the PPSN of a patient here is held with both under temporary values and
raises one flag per identifier, each naming it; merging the two closes both at the end of the
next pull. A flag written before identifiers other than the MRN were held (its detail names only
the MRN) still closes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.ids import new_id
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import SyncConflict
from pms_desktop.sync.remote_apply import RemoteApplier

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     mrn="MRN-77", national_id="1234567T")


def _applier(s: Any, ctx: Any) -> RemoteApplier:
    return RemoteApplier(s, ctx.sync.rmap, ctx.core.workstation_id, lambda: datetime.now(UTC))


def _pull_a_twin(ctx: Any, here: str) -> str:
    """The patient ``here`` as another workstation registered it: new ids, same identifiers."""
    with ctx.db.sessions()() as s, s.begin():
        theirs = copy.deepcopy(ctx.sync.rmap.resource_for(s, "patient", here))
        theirs["id"] = other = new_id()
        theirs["name"][0]["given"] = ["Ava"]
        for part in theirs.get("identifier", []) + theirs.get("telecom", []):
            if part.get("id") != "email":
                part["id"] = new_id()
        theirs.pop("meta", None)
        assert _applier(s, ctx).apply_guarded("Patient", other, 1, "upsert", theirs)
    return other


def test_a_patient_pulled_with_two_clashing_identifiers_raises_a_flag_for_each(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    actor = actors[Role.RECEPTION]
    here = ctx.patients.register_patient(actor, draft=DRAFT).id
    other = _pull_a_twin(ctx, here)

    flags = {c.remote_value["label"]: c for c in ctx.sync.conflicts(actor)}
    assert set(flags) == {"MRN", "PPSN"}
    assert {c.kind for c in flags.values()} == {"possible-duplicate"}
    assert (flags["PPSN"].remote_value["value"], flags["MRN"].remote_value["value"]) == (
        "1234567T", "MRN-77")
    held = ctx.patients.get_patient(actor, patient_id=other).draft
    assert held.mrn.startswith("MRN-77~dup-") and held.national_id.startswith("1234567T~dup-")

    ctx.patients.merge_patients(actor, survivor_id=here, merged_id=other)
    with ctx.db.sessions()() as s, s.begin():
        _applier(s, ctx).after_pull()
    assert ctx.sync.conflicts(actor) == []
    kept = ctx.patients.get_patient(actor, patient_id=here).draft
    assert (kept.mrn, kept.national_id) == ("MRN-77", "1234567T")


def test_a_flag_that_names_only_the_mrn_still_closes(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    actor = actors[Role.RECEPTION]
    here = ctx.patients.register_patient(actor, draft=PatientDraft(
        given="Aoife", family="Byrne", birth_date="1984-03-02", mrn="MRN-77")).id
    other = _pull_a_twin(ctx, here)
    with ctx.db.sessions()() as s, s.begin():  # as the MRN-only version wrote it
        [flag] = s.scalars(select(SyncConflict).where(SyncConflict.kind == "possible-duplicate"))
        flag.detail = json.dumps({"patient_id": other, "other_id": here, "mrn": "MRN-77"})

    ctx.patients.update_patient(actor, patient_id=here, draft=PatientDraft(
        given="Aoife", family="Byrne", birth_date="1984-03-02", mrn="MRN-78"))
    with ctx.db.sessions()() as s, s.begin():
        _applier(s, ctx).after_pull()
    assert ctx.sync.conflicts(actor) == []
    assert ctx.patients.get_patient(actor, patient_id=other).draft.mrn == "MRN-77"
