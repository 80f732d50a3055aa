"""Merges of duplicate patients across workstations, end to end against the real server:
signed notes stay intact wherever a merge (or its undoing) moves them, two workstations merging
the same pair in opposite directions end with one record and a notice, and the same MRN
registered offline on two workstations keeps both registrations, flagged as possible duplicates.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.sync.test_sync_semantics import DRAFT, converged, edit, sync_all

pytestmark = pytest.mark.e2e


def _notes(w: Any, pid: str) -> dict[str, tuple[bool, str | None]]:
    return {n.assessment: (n.intact, n.signed_in_record)
            for n in w.ctx.clinical.list_notes(w.as_user("drkelly"), patient_id=pid)}


def _sign(w: Any, pid: str, text: str) -> str:
    doc = w.as_user("drkelly")
    note = w.ctx.clinical.create_draft(doc, patient_id=pid, assessment=text)
    return str(w.ctx.clinical.sign_note(doc, note_id=note.id).id)


def test_signed_notes_stay_intact_through_a_merge_and_its_undoing_on_every_workstation(
    workstations: Any,
) -> None:
    """A signs a note for the duplicate and merges it into the patient's record; B, offline
    meanwhile, signs another for the duplicate (its sync moves it to the survivor). Both notes
    show intact on both workstations, signed in the merged record; undoing the merge on A puts
    both back on the duplicate, intact everywhere."""
    a, b = workstations()
    keep = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="K-1")).id
    dupe = a.ctx.patients.register_patient(
        a.actor, draft=replace(DRAFT, phone="0870000000", mrn="D-1")).id
    _sign(a, dupe, "seen on A")
    sync_all(a, b, rounds=1)

    merge = a.ctx.patients.merge_patients(a.actor, survivor_id=keep, merged_id=dupe)
    _sign(b, dupe, "seen on B offline")
    sync_all(a, b, a)

    assert converged(a, b) == []
    for w in (a, b):
        notes = _notes(w, keep)
        assert notes == {"seen on A": (True, "record MRN D-1 (merged)"),
                         "seen on B offline": (True, "record MRN D-1 (merged)")}, w.name

    a.ctx.patients.revert_merge(a.as_user("admin"), merge_id=merge.id)
    sync_all(a, b, a)

    assert converged(a, b) == []
    for w in (a, b):
        assert _notes(w, keep) == {}, w.name
        assert _notes(w, dupe) == {"seen on A": (True, None),
                                   "seen on B offline": (True, None)}, w.name


def test_a_pair_merged_both_ways_offline_ends_as_one_record_with_a_notice(
    workstations: Any,
) -> None:
    """A merges record 1 into record 2 while B, offline, merges 2 into 1. After sync both
    workstations hold the same one active record (the smaller id: no clock decides) with both
    records' notes, appointments and MRNs, the other merged into it, and a notice in the
    conflicts window says what happened (before: both records inactive, no conflict)."""
    a, b = workstations()
    one = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="R-1")).id
    two = a.ctx.patients.register_patient(
        a.actor, draft=replace(DRAFT, phone="0870000000", mrn="R-2")).id
    _sign(a, one, "seen as one")
    _sign(a, two, "seen as two")
    sync_all(a, b, rounds=1)

    a.ctx.patients.merge_patients(a.actor, survivor_id=two, merged_id=one)
    b.ctx.patients.merge_patients(b.actor, survivor_id=one, merged_id=two)
    sync_all(a, b, rounds=3)

    assert converged(a, b) == []
    keep, gone = min(one, two), max(one, two)
    for w in (a, b):
        kept = w.ctx.patients.get_patient(w.actor, patient_id=keep)
        merged = w.ctx.patients.get_patient(w.actor, patient_id=gone)
        assert (kept.active, kept.merged_into_id) == (True, None), w.name
        assert (merged.active, merged.merged_into_id) == (False, keep), w.name
        assert {n: v[0] for n, v in _notes(w, keep).items()} == {
            "seen as one": True, "seen as two": True}, w.name
        for mrn in ("R-1", "R-2"):
            assert [p.id for p in w.ctx.patients.search(w.actor, mrn)] == [keep], (w.name, mrn)
    notices = [(w, c) for w in (a, b) for c in w.ctx.sync.conflicts(w.actor)
               if c.kind == "merge-ring"]
    assert notices and {c.resource_id for _, c in notices} == {keep}
    assert "merged into each other" in notices[0][1].detail
    w, notice = notices[0]
    w.ctx.sync.resolve_conflict(w.actor, conflict_id=notice.id, choice="dismiss")
    assert notice.id not in {c.id for c in w.ctx.sync.conflicts(w.actor)}


def _open(w: Any) -> list[tuple[str, str, str | None]]:
    """What the workstation asks a person to decide (the merge-ring notice aside)."""
    return sorted((c.kind, c.resource_id, c.field) for c in w.ctx.sync.conflicts(w.actor)
                  if c.kind != "merge-ring")


def _pair_merged_both_ways(a: Any, b: Any, *, a_keeps_smaller: bool,
                           cities: tuple[str, str] | None = None) -> tuple[str, str]:
    """Two records of one person (each with its own MRN, phone and email) synced to both
    workstations, then merged in opposite directions offline (``cities``: the smaller id's
    city first edited differently on A and on B); returns (smaller id, larger id)."""
    one = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="R-1")).id
    two = a.ctx.patients.register_patient(
        a.actor, draft=replace(DRAFT, phone="0870000000", email="ab@example.ie", mrn="R-2")).id
    sync_all(a, b, rounds=1)
    small, large = sorted((one, two))
    if cities is not None:
        for w, city in zip((a, b), cities, strict=True):
            edit(w, small, city=city)
    keep_a, gone_a = (small, large) if a_keeps_smaller else (large, small)
    a.ctx.patients.merge_patients(a.actor, survivor_id=keep_a, merged_id=gone_a)
    b.ctx.patients.merge_patients(b.actor, survivor_id=gone_a, merged_id=keep_a)
    sync_all(a, b, rounds=3)
    return small, large


@pytest.mark.parametrize("a_keeps_smaller", [True, False], ids=["b-keeps-larger",
                                                                 "b-keeps-smaller"])
def test_a_pair_merged_both_ways_leaves_nothing_to_decide(workstations: Any,
                                                          a_keeps_smaller: bool) -> None:
    """The phones, emails and MRNs the two merges moved in opposite directions end the same on
    both workstations once the ring is settled: neither asks a person to choose between them
    (before: the workstation that pushed into the clash kept six such conflicts)."""
    a, b = workstations()
    small, large = _pair_merged_both_ways(a, b, a_keeps_smaller=a_keeps_smaller)

    assert converged(a, b) == []
    for w in (a, b):
        assert _open(w) == [], w.name
        for found_by in ("R-1", "R-2", "0871234567", "0870000000"):
            assert [p.id for p in w.ctx.patients.search(w.actor, found_by)] == [small], (
                w.name, found_by)


@pytest.mark.parametrize("a_keeps_smaller", [True, False], ids=["b-keeps-larger",
                                                                 "b-keeps-smaller"])
def test_a_pair_merged_both_ways_still_raises_a_field_both_changed(workstations: Any,
                                                                   a_keeps_smaller: bool) -> None:
    """The same, the surviving record's city first changed differently on the two workstations:
    that conflict is still raised on the workstation that pushed into the clash (and only it),
    as a choice between the two cities; the person's choice reaches both workstations."""
    a, b = workstations()
    small, _large = _pair_merged_both_ways(a, b, a_keeps_smaller=a_keeps_smaller,
                                           cities=("Galway", "Limerick"))

    assert (_open(a), [(kind, rid) for kind, rid, _ in _open(b)]) == ([], [("field", small)])
    [conflict] = [c for c in b.ctx.sync.conflicts(b.actor) if c.kind == "field"]
    assert "Limerick" in conflict.local_text and "Galway" in conflict.remote_text
    b.ctx.sync.resolve_conflict(b.actor, conflict_id=conflict.id, choice="remote")
    sync_all(b, a, rounds=2)
    assert converged(a, b) == []
    for w in (a, b):
        assert w.ctx.patients.get_patient(w.actor, patient_id=small).draft.city == "Galway"
        assert _open(w) == [], w.name


@pytest.mark.parametrize("a_keeps_smaller", [True, False], ids=["b-keeps-larger",
                                                                 "b-keeps-smaller"])
def test_a_pair_merged_both_ways_loses_no_phone_both_changed(workstations: Any,
                                                             a_keeps_smaller: bool) -> None:
    """A phone the two workstations changed differently before merging the pair both ways is
    a unit both sides truly changed: settling the ring never closes it unseen. Each of the two
    numbers is either held by the survivor on both workstations or still offered to a person
    in an open conflict."""
    a, b = workstations()
    one = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="R-1")).id
    two = a.ctx.patients.register_patient(
        a.actor, draft=replace(DRAFT, phone="0870000000", email="ab@example.ie", mrn="R-2")).id
    sync_all(a, b, rounds=1)
    small, large = sorted((one, two))
    numbers = ("0861111111", "0862222222")
    for w, number in zip((a, b), numbers, strict=True):
        edit(w, small, phone=number)
    keep_a, gone_a = (small, large) if a_keeps_smaller else (large, small)
    a.ctx.patients.merge_patients(a.actor, survivor_id=keep_a, merged_id=gone_a)
    b.ctx.patients.merge_patients(b.actor, survivor_id=gone_a, merged_id=keep_a)
    sync_all(a, b, rounds=3)

    offered = " ".join(f"{c.local_text} {c.remote_text}" for w in (a, b)
                       for c in w.ctx.sync.conflicts(w.actor) if c.kind != "merge-ring")
    for number in numbers:
        held = [bool(w.ctx.patients.search(w.actor, number)) for w in (a, b)]
        assert held == [True, True] or number in offered, (number, held, offered)
