"""Signed notes and merges of duplicate records: a note signed in a record merged away (A into
B, B into C) still verifies where it now lives, and says where it was signed; tampering (its
content changed, or moved to a record no merge links it to) still shows; undoing a merge leaves
every note intact, those moved by another workstation's sync included."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from pms_desktop.domain.enums import Role
from pms_desktop.store.models import ClinicalNote, PatientMerge


def _signed(ctx, doc, pid: str, text: str) -> str:  # type: ignore[no-untyped-def]
    note = ctx.clinical.create_draft(doc, patient_id=pid, assessment=text)
    return str(ctx.clinical.sign_note(doc, note_id=note.id).id)


def _notes(ctx, doc, pid: str) -> dict[str, tuple[bool, str | None]]:  # type: ignore[no-untyped-def]
    return {n.assessment: (n.intact, n.signed_in_record)
            for n in ctx.clinical.list_notes(doc, patient_id=pid)}


def test_a_note_signed_in_a_merged_record_verifies_on_the_survivor_of_the_chain(
    ctx, actors, make_patient,  # type: ignore[no-untyped-def]
) -> None:
    doc, rita = actors[Role.CLINICIAN], actors[Role.RECEPTION]
    a, b, c = (make_patient("Mary", f"Murphy{i}", mrn=f"M-{i}") for i in "ABC")
    _signed(ctx, doc, a, "signed in A")
    _signed(ctx, doc, b, "signed in B")
    _signed(ctx, doc, c, "signed in C")
    ctx.patients.merge_patients(rita, survivor_id=b, merged_id=a)
    assert _notes(ctx, doc, b) == {
        "signed in A": (True, "record MRN M-A (merged)"),
        "signed in B": (True, None),
    }
    ctx.patients.merge_patients(rita, survivor_id=c, merged_id=b)

    # B's merge moved A's MRN on with B's own: the records are named by name and birth.
    assert _notes(ctx, doc, c) == {
        "signed in A": (True, "record of Mary MurphyA, born 1980-05-17 (merged)"),
        "signed in B": (True, "record of Mary MurphyB, born 1980-05-17 (merged)"),
        "signed in C": (True, None),
    }
    [from_a] = [n for n in ctx.clinical.list_notes(doc, patient_id=c)
                if n.assessment == "signed in A"]
    assert ctx.clinical.get_note(doc, patient_id=c, note_id=from_a.id).intact


def test_tampering_still_shows_after_merges(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    doc, rita = actors[Role.CLINICIAN], actors[Role.RECEPTION]
    a, b, stranger = (make_patient("Mary", f"Murphy{i}", mrn=f"T-{i}") for i in "ABX")
    edited = _signed(ctx, doc, a, "edited later")
    moved = _signed(ctx, doc, a, "moved to a stranger")
    backwards = _signed(ctx, doc, b, "moved back to the merged record")
    ctx.patients.merge_patients(rita, survivor_id=b, merged_id=a)
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(ClinicalNote).where(ClinicalNote.id == edited).values(plan="more"))
        s.execute(update(ClinicalNote).where(ClinicalNote.id == moved)
                  .values(patient_id=stranger))
        # A note signed in the survivor, put on the record merged into it: no merge goes
        # that way round.
        s.execute(update(ClinicalNote).where(ClinicalNote.id == backwards).values(patient_id=a))

    assert _notes(ctx, doc, b) == {"edited later": (False, None)}
    assert _notes(ctx, doc, stranger) == {"moved to a stranger": (False, None)}
    assert _notes(ctx, doc, a) == {"moved back to the merged record": (False, None)}


def test_undoing_a_merge_leaves_every_note_intact(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    doc, rita, admin = actors[Role.CLINICIAN], actors[Role.RECEPTION], actors[Role.CLINIC_ADMIN]
    a, b, c = (make_patient("Mary", f"Murphy{i}", mrn=f"U-{i}") for i in "ABC")
    _signed(ctx, doc, a, "signed in A")
    late = _signed(ctx, doc, b, "signed in B, moved by a sync")
    _signed(ctx, doc, c, "signed in C")
    ctx.patients.merge_patients(rita, survivor_id=b, merged_id=a)
    undone = ctx.patients.merge_patients(rita, survivor_id=c, merged_id=b)
    with ctx.db.sessions()() as s, s.begin():
        # As if another workstation's sync had moved it after the merge: not in the merge's list.
        record = s.get(PatientMerge, undone.id)
        assert record is not None
        moved = json.loads(record.moved)
        moved["clinical_note"].remove(late)
        record.moved = json.dumps(moved)

    ctx.patients.revert_merge(admin, merge_id=undone.id)

    assert _notes(ctx, doc, c) == {"signed in C": (True, None)}
    assert _notes(ctx, doc, b) == {  # the undoing moved A's MRN back as a new row
        "signed in A": (True, "record of Mary MurphyA, born 1980-05-17 (merged)"),
        "signed in B, moved by a sync": (True, None),
    }
    with ctx.db.sessions()() as s:
        assert s.scalars(select(ClinicalNote.patient_id).where(ClinicalNote.id == late)).one() == b
