"""When a merge of duplicate patients meets work done elsewhere before it arrived.

A merge on one workstation moves the duplicate's records to the surviving patient and marks
the duplicate inactive with a ``replaced-by`` link. Another workstation may meanwhile have
booked, noted or billed for the duplicate, or edited the duplicate's details. When the two meet
(on either side, in either order):

* a record still pointing at a merged-away patient is moved to the survivor, as a change of this
  workstation that syncs like any other (two workstations doing it agree: same value);
* an edit to the merged-away patient's own details stays on that record (nothing is lost) and is
  raised as a ``merged`` conflict, so that a person can apply it to the survivor or dismiss it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import audit_log, outbox
from ..store.models import Patient
from .merge import MISSING, FieldConflict, units_of
from .resources import ResourceMap

Json = dict[str, Any]
MERGE_UNITS = frozenset({"active", "link"})  # what the merge itself changes
MAX_HOPS = 20


def replaced_by(resource: Json | None) -> str | None:
    """The survivor a FHIR Patient was merged into (``link`` of type ``replaced-by``)."""
    for link in (resource or {}).get("link") or ():
        if link.get("type") == "replaced-by":
            ref = str((link.get("other") or {}).get("reference") or "")
            return ref.rsplit("/", 1)[-1] or None
    return None


def edits_lost_to_merge(base: Json | None, local: Json, remote: Json,
                        derived: frozenset[str] = frozenset()) -> list[FieldConflict]:
    """The local edits to a patient that the remote side merged away meanwhile."""
    survivor = replaced_by(remote)
    if survivor is None or replaced_by(local) is not None or base is None:
        return []
    b, lo, re_ = units_of(base, derived), units_of(local, derived), units_of(remote, derived)
    out = []
    for name in sorted(set(b) | set(lo)):
        if name in MERGE_UNITS:
            continue
        bv, lv = b.get(name, MISSING), lo.get(name, MISSING)
        if _differ(bv, lv):
            out.append(FieldConflict(name, bv, lv, re_.get(name, MISSING), kind="merged"))
    return out


def _differ(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True)


class MergeFollower:
    def __init__(self, session: Session, rmap: ResourceMap, workstation_id: str,
                 now: Callable[[], datetime]) -> None:
        self.s, self.rmap, self.ws, self.now = session, rmap, workstation_id, now
        self.moved = 0

    def survivor(self, patient_id: str | None) -> str | None:
        """Where a merged-away patient's records belong now (None: not merged, or a cycle)."""
        seen: set[str] = set()
        current = patient_id
        while current is not None and len(seen) < MAX_HOPS:
            row = self.s.get(Patient, current)
            if row is None or row.merged_into_id is None:
                return current if current != patient_id else None
            seen.add(current)
            current = row.merged_into_id
            if current in seen:
                return None  # merged into each other on two workstations: a person decides
        return None

    def after_apply(self, table: str, rid: str) -> None:
        """Move records pointing at a merged-away patient, this one or the patient's."""
        if table == "patient":
            survivor = self.survivor(rid)
            if survivor is None:
                return
            for other in self._patient_tables():
                model = self.rmap.model(other)
                for row in self.s.scalars(select(model).where(model.patient_id == rid)):
                    self._move(other, row, survivor)
            return
        model = self.rmap.model(table)
        row = self.s.get(model, rid)
        survivor = self.survivor(getattr(row, "patient_id", None))
        if row is not None and survivor is not None:
            self._move(table, row, survivor)

    def _patient_tables(self) -> list[str]:
        return [t for t in self.rmap.tables
                if t != "patient" and hasattr(self.rmap.model(t), "patient_id")]

    def _move(self, table: str, row: Any, survivor: str) -> None:
        merged_away = row.patient_id
        row.patient_id = survivor
        self.s.flush()
        outbox.record_change(self.s, row, user_id=None, now=self.now())
        audit_log.append(self.s, workstation_id=self.ws, at=self.now(), action="sync.repoint",
                         outcome="success", resource_type=type(row).__fhir_type__,
                         resource_id=row.id, patient_id=survivor,
                         detail={"from_patient": merged_away, "table": table})
        self.moved += 1
