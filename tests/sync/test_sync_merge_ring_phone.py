"""A phone list both workstations changed before merging the same pair of patients both ways,
end to end against the real server: once the ring is settled the person is asked one thing, on
the surviving record, as a choice between the two whole lists (the one it holds, the one the
other workstation had); whichever they take, both workstations end with that list on the
survivor and nothing on the merged record (before: the choice sat on whichever record each side
had kept, so taking the other workstation's side wrote its list onto the merged-away record and
emptied the survivor's)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.store.models import PatientTelecom
from tests.sync.test_sync_semantics import DRAFT, converged, edit, sync_all

pytestmark = pytest.mark.e2e

A_NUMBER, B_NUMBER = "0861111111", "0862222222"


def _phones(w: Any, pid: str) -> set[str]:
    with w.ctx.db.sessions()() as s:
        return {str(t.value) for t in s.scalars(select(PatientTelecom).where(
            PatientTelecom.patient_id == pid, PatientTelecom.system == "phone"))}


def _numbers(text: str | None) -> set[str]:
    return set(re.findall(r"\d{10}", text or ""))


def _to_decide(*stations: Any) -> list[tuple[Any, Any]]:
    return [(w, c) for w in stations for c in w.ctx.sync.conflicts(w.actor)
            if c.kind != "merge-ring"]


@pytest.mark.parametrize("choice", ["local", "remote"])
@pytest.mark.parametrize("a_keeps_smaller", [True, False], ids=["b-keeps-larger",
                                                                 "b-keeps-smaller"])
def test_a_phone_list_both_changed_is_one_choice_on_the_survivor(
        workstations: Any, a_keeps_smaller: bool, choice: str) -> None:
    a, b = workstations()
    one = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="R-1")).id
    two = a.ctx.patients.register_patient(
        a.actor, draft=replace(DRAFT, phone="0870000000", email="ab@example.ie", mrn="R-2")).id
    sync_all(a, b, rounds=1)
    small, large = sorted((one, two))
    large_phone = DRAFT.phone if large == one else "0870000000"
    for w, number in ((a, A_NUMBER), (b, B_NUMBER)):
        edit(w, small, phone=number)
    keep_a, gone_a = (small, large) if a_keeps_smaller else (large, small)
    a.ctx.patients.merge_patients(a.actor, survivor_id=keep_a, merged_id=gone_a)
    b.ctx.patients.merge_patients(b.actor, survivor_id=gone_a, merged_id=keep_a)
    sync_all(a, b, rounds=3)

    [(w, conflict)] = _to_decide(a, b)  # one question, on the record that survives
    assert (conflict.kind, conflict.field, conflict.resource_id) == ("field", "phone", small)
    held = _phones(w, small)
    assert _numbers(conflict.local_text) == held  # "local": the list the survivor holds
    lists = {frozenset({A_NUMBER, large_phone}), frozenset({B_NUMBER, large_phone})}
    assert {frozenset(held), frozenset(_numbers(conflict.remote_text))} == lists
    chosen = held if choice == "local" else _numbers(conflict.remote_text)

    w.ctx.sync.resolve_conflict(w.actor, conflict_id=conflict.id, choice=choice)
    sync_all(a, b, rounds=2)

    assert converged(a, b) == []
    assert _to_decide(a, b) == []
    left_out = ({A_NUMBER, B_NUMBER} - chosen).pop()
    for x in (a, b):
        assert _phones(x, small) == chosen, x.name
        assert _phones(x, large) == set(), x.name  # nothing written onto the merged record
        for number in chosen:
            assert [p.id for p in x.ctx.patients.search(x.actor, number)] == [small], (
                x.name, number)
        assert x.ctx.patients.search(x.actor, left_out) == [], x.name
