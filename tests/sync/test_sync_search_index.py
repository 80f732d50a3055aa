"""The patient search after a pull (the index is written once per pulled page: migration 0004),
end to end against the real server: a new workstation finds every pulled patient by name, MRN,
PPSN, mobile and home phone; identifiers, phones and names changed in a later page, a merge and
a deactivation are found as the clinic's workstation finds them; a page that falls back to
change-by-change (an MRN registered twice offline) leaves the index whole; a person's edit
afterwards is found at once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from pms_desktop.context import build_context
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.services.patients_search import search_ids
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Patient, PatientIdentifier, PatientTelecom
from pms_desktop.sync import engine
from tests.sync.conftest import SyncServer, Workstation_, _actor
from tests.sync.test_sync_first_pull import _queue_unsynced
from tests.sync.test_sync_semantics import DRAFT, edit, sync_all

pytestmark = pytest.mark.e2e


def _index_problems(ctx: Any) -> list[str]:
    """What the search would get wrong: an active patient not found by its name, an
    identifier or a phone it holds; an index row too many or missing; a pause left behind."""
    problems = []
    with ctx.db.sessions()() as s:
        for table in ("patient_search_pause", "patient_search_stale"):
            if s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one():  # noqa: S608
                problems.append(f"{table} not empty")
        patients = s.execute(select(Patient.id, Patient.given, Patient.family, Patient.active,
                                    Patient.phone_digits)).all()
        for table in ("patient_search", "patient_search_key"):
            n = s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            if n != len(patients):
                problems.append(f"{n} rows in {table} for {len(patients)} patients")
        idents: dict[str, list[str]] = {}
        for pid, value in s.execute(select(PatientIdentifier.patient_id, PatientIdentifier.value)):
            idents.setdefault(pid, []).append(value)
        for pid, digits in s.execute(select(PatientTelecom.patient_id, PatientTelecom.digits)
                                     .where(PatientTelecom.digits.is_not(None))):
            idents.setdefault(pid, []).append(digits)
        total = len(patients)
        for pid, given, family, active, phone in patients:
            if not active:
                continue
            for query in (f"{given} {family}", *idents.get(pid, ()), *([phone] if phone else [])):
                if pid not in search_ids(s, query, total + 1):
                    problems.append(f"{pid} not found by {query!r}")
    return problems


def _found(w: Any, actor: Any, query: str) -> set[str]:
    return {p.id for p in w.patients.search(actor, query)}


QUERIES = ("Zbigniew", "Quartermaine", "zbig quart", "QZ-1001", "QZ-1002", "QZ-1003",
           "QZ-2002", "7654321W", "0851110001", "0851110002", "0851110003", "014440001",
           "0859990001", "Vandersloot", "Ottoline", "Peregrine", "Ní Bhriain")


def test_a_new_workstation_finds_what_the_clinic_finds_after_every_pull(
        make_workstations: Any, tmp_path: Path, sync_server: SyncServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Every pull here is "large": the index is optimized after it, as after a first pull.
    monkeypatch.setattr(engine, "PULL_OPTIMIZE_AFTER", 1)
    [a] = make_workstations(1)
    _queue_unsynced(a.ctx)

    def register(given: str, n: int, **more: str) -> str:
        return a.ctx.patients.register_patient(a.actor, draft=PatientDraft(
            given=given, family="Quartermaine", birth_date=f"1961-05-0{n}", sex="male",
            mrn=f"QZ-100{n}", phone=f"085111000{n}", **more)).id

    p1 = register("Zbigniew", 1, phone_home="014440001", national_id="7654321W")
    p2 = register("Ottoline", 2)
    p3 = register("Peregrine", 3)
    dupe = register("Ottoline", 4)
    gone = register("Wenceslas", 5)
    assert a.sync.run_sync().quarantined == 0
    key_code = a.sync.issue_clinic_key_code(a.as_user("admin"))

    db, _secret = ClinicDatabase.create(tmp_path / "fresh")
    b = build_context(db)
    try:
        b.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                            code=sync_server.enrol_code(a.ctx.sync._clinic_id()),
                            device_name="fresh", clinic_key_code=key_code)
        assert b.sync.run_sync().pulled > 5  # type: ignore[attr-defined]
        actor = _actor(b, "paul")
        assert _found(b, actor, "zbig quart") == {p1}
        assert _found(b, actor, "QZ-1001") == _found(b, actor, "7654321W") == {p1}
        assert _found(b, actor, "0851110001") == _found(b, actor, "014440001") == {p1}
        assert _found(b, actor, "Quartermaine") == {p1, p2, p3, dupe, gone}
        assert _index_problems(b) == []

        # A later page: names, identifiers and phones changed, a merge, a deactivation.
        edit(a, p1, family="Ní Bhriain", mrn="QZ-2002", phone="0859990001")
        edit(a, p3, family="Vandersloot")
        a.ctx.patients.merge_patients(a.actor, survivor_id=p2, merged_id=dupe)
        a.ctx.patients.deactivate_patient(a.actor, patient_id=gone, reason="moved away")
        a.sync.run_sync()
        b.sync.run_sync()  # type: ignore[attr-defined]
        assert _found(b, actor, "QZ-1001") == _found(b, actor, "0851110001") == set()
        assert _found(b, actor, "QZ-2002") == _found(b, actor, "0859990001") == {p1}
        assert _found(b, actor, "Ní Bhriain") == {p1}
        assert _found(b, actor, "Vandersloot") == {p3}
        assert _found(b, actor, "Quartermaine") == {p2}  # merged away, deactivated: not found
        for query in QUERIES:
            assert _found(b, actor, query) == _found(a.ctx, a.actor, query), query
        assert _index_problems(b) == []

        # A person's edit on the new workstation: found at once, before any sync.
        detail = b.patients.get_patient(actor, patient_id=p3)
        b.patients.update_patient(actor, patient_id=p3,
                                  draft=replace(detail.draft, mrn="QZ-3003", phone="0857770003"))
        assert _found(b, actor, "QZ-3003") == _found(b, actor, "0857770003") == {p3}
        assert _found(b, actor, "QZ-1003") == _found(b, actor, "0851110003") == set()
        local = b.patients.register_patient(actor, draft=replace(DRAFT, given="Xanthe",
                                                                 mrn="QZ-4004")).id
        assert _found(b, actor, "Xanthe") == _found(b, actor, "QZ-4004") == {local}
        assert _index_problems(b) == []
    finally:
        b.close()


def test_a_page_applied_change_by_change_leaves_the_search_whole(workstations: Any) -> None:
    """The same MRN registered offline on A and B: B's page holding A's patient cannot be
    written at once (the MRN is unique here), is rolled back and applied change by change; B
    finds both patients and A's other new patient, and its index is whole."""
    a, b = workstations()
    pa = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="MRN-77")).id
    other = a.ctx.patients.register_patient(a.actor, draft=replace(
        DRAFT, given="Ermengarde", family="Tolliver", mrn="MRN-88", phone="0861234599")).id
    pb = b.ctx.patients.register_patient(b.actor, draft=replace(DRAFT, given="Ava",
                                                                mrn="MRN-77")).id
    sync_all(a, b)

    b_: Workstation_ = b
    assert [c.kind for c in b_.sync.conflicts(b_.actor)] == ["possible-duplicate"]
    assert _found(b_.ctx, b_.actor, "Byrne") >= {pa, pb}
    assert _found(b_.ctx, b_.actor, "Ermengarde Tolliver") == {other}
    assert _found(b_.ctx, b_.actor, "MRN-88") == _found(b_.ctx, b_.actor, "0861234599") == {other}
    assert _index_problems(b_.ctx) == []
    with b_.ctx.db.sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) > 2
