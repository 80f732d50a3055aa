"""A signed note's seal: its content hash, and the check that it still holds.

The hash covers the patient the note was signed for, so that a signed note cannot silently move
to another person. Merging duplicate records moves notes to the surviving record, though, and a
merge is no tampering: a note verifies where its current patient is the survivor of a chain of
recorded merges (``replaced-by`` links, set only by a merge and carried by sync) from the
patient it was signed for: A merged into B, B into C, a note signed for A verifies on C.
Nothing else does: changed content, or a note moved to a patient that no merge links to the one
it was signed for, shows as altered.

Nothing here checks permissions or writes the access log: the operations do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import ClinicalNote, Patient, PatientIdentifier, PatientMerge
from .patients_dto import IDENTIFIER_KINDS

MAX_SOURCES = 200  # records merged, directly or not, into one: far beyond any real chain


def note_hash(n: ClinicalNote, patient_id: str | None = None) -> str:
    """SHA-256 over the signed content: who, when, what, for whom and what it points at
    (``patient_id``: the patient to check it against, the note's own by default)."""
    body = {
        "id": n.id, "patient_id": patient_id or n.patient_id, "encounter_id": n.encounter_id,
        "kind": n.kind, "addendum_to_id": n.addendum_to_id, "subjective": n.subjective,
        "objective": n.objective, "assessment": n.assessment, "plan": n.plan,
        "signed_at": n.signed_at.isoformat() if n.signed_at else None,
        "signed_by_id": n.signed_by_id,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    intact: bool
    signed_for: str | None = None  # a merged-away record it was signed in (None: its own)


def merged_sources(s: Session, patient_id: str) -> list[str]:
    """Every record whose chain of merges ends at ``patient_id`` (nearest first), itself not
    included. Follows the ``replaced-by`` links backwards; a cycle (two records merged into
    each other on two workstations) is walked once."""
    found: list[str] = []
    seen, frontier = {patient_id}, [patient_id]
    while frontier and len(found) < MAX_SOURCES:
        rows = list(s.scalars(select(Patient.id).where(Patient.merged_into_id.in_(frontier))))
        frontier = [r for r in rows if r not in seen]
        seen.update(frontier)
        found += frontier
    return found


class NoteSeals:
    """Checks signed notes; remembers each patient's merge sources (and each merged record's
    label) for the notes of one list."""

    def __init__(self, session: Session | None) -> None:
        self.s = session
        self._sources: dict[str, list[str]] = {}
        self._labels: dict[str, str] = {}

    def check(self, n: ClinicalNote) -> Verdict:
        if n.status != "signed":
            return Verdict(True)
        if n.content_hash == note_hash(n):
            return Verdict(True)
        if self.s is None or not n.content_hash:
            return Verdict(False)
        for source in self.sources(n.patient_id):
            if n.content_hash == note_hash(n, source):
                return Verdict(True, source)
        return Verdict(False)

    def sources(self, patient_id: str) -> list[str]:
        if patient_id not in self._sources:
            assert self.s is not None
            self._sources[patient_id] = merged_sources(self.s, patient_id)
        return self._sources[patient_id]

    def record_label(self, patient_id: str) -> str:
        """"record MRN 1234 (merged)": the merged record a note was signed in, for a person.
        A merge moves the record's identifiers to the survivor and remembers their ids; where
        that no longer names one MRN (the survivor was merged on in turn), the record's name
        and date of birth say it."""
        if patient_id not in self._labels:
            self._labels[patient_id] = self._label(patient_id)
        return self._labels[patient_id]

    def _label(self, patient_id: str) -> str:
        assert self.s is not None
        mrns = self._mrns(patient_id)
        if len(mrns) == 1:
            return f"record MRN {mrns[0]} (merged)"
        p = self.s.get(Patient, patient_id)
        if p is None:
            return "a merged record"
        name = " ".join(x for x in (p.given, p.family) if x)
        return f"record of {name}, born {p.birth_date.isoformat()} (merged)"

    def _mrns(self, patient_id: str) -> list[str]:
        assert self.s is not None
        ids: list[str] = []
        for m in self.s.scalars(select(PatientMerge).where(
                PatientMerge.merged_id == patient_id, PatientMerge.reverted_at.is_(None))):
            ids += json.loads(m.moved or "{}").get("patient_identifier", [])
        return list(self.s.scalars(select(PatientIdentifier.value).where(
            PatientIdentifier.system == IDENTIFIER_KINDS["mrn"][0],
            (PatientIdentifier.patient_id == patient_id) | PatientIdentifier.id.in_(ids))))
