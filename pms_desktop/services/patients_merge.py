"""Merging two records of one person, and undoing a merge.

Every row that points at the merged record (appointments, encounters, notes, observations,
invoices, payments, allergies, identifiers, ...) is re-pointed at the survivor. The tables are
found from the schema itself (every ``patient_id`` foreign key to ``patient``), so a table added
later is merged too. ``PatientMerge.moved`` keeps the ids per table so that an admin can revert.
"""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from ..domain import held_identifiers as held
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.ids import new_id
from ..store.models import Base, ClinicalNote, Patient, PatientMerge, SyncMixin
from .base import UnitOfWork
from .clinical_seal import NoteSeals, merged_sources
from .patients_dto import MergeInfo

# Local bookkeeping that stays with the record it was made for.
NOT_MOVED = {"patient_merge", "break_glass_grant"}


def patient_tables() -> list[tuple[Table, type[Any] | None]]:
    """Every table with a ``patient_id`` foreign key to patient, with its mapped class."""
    classes = {str(getattr(m.local_table, "name", "")): m.class_ for m in Base.registry.mappers}
    out = []
    for table in Base.metadata.sorted_tables:
        col = table.columns.get("patient_id")
        if table.name in NOT_MOVED or col is None:
            continue
        if any(fk.column.table.name == "patient" for fk in col.foreign_keys):
            out.append((table, classes.get(table.name)))
    return out


def _move(
    uow: UnitOfWork, table: Table, cls: type[Any] | None, ids: list[str], to: str
) -> list[str]:
    """Point the rows at ``to``; returns their ids there.

    A record of its own (appointment, note ...) keeps its id and syncs as a change. A part of
    the patient's own record (a phone, an identifier) moves as a copy with a new id: the two
    patients' records travel separately, and another workstation may still hold the old part
    under the merged record (or edit it there) until the merge reaches it; one id in two
    patients' records would clash there."""
    if not ids:
        return []
    if cls is not None and issubclass(cls, SyncMixin):
        for row in uow.session.scalars(select(cls).where(cls.id.in_(ids))):
            setattr(row, "patient_id", to)  # noqa: B010 - any patient-linked model
            uow.changed(row)
        return ids
    found = uow.session.execute(select(table).where(table.c.id.in_(ids)))
    rows = [dict(r._mapping) for r in found]
    uow.session.execute(delete(table).where(table.c.id.in_(ids)))
    copies = [{**r, "id": new_id(), "patient_id": to} for r in rows]
    if copies:
        uow.session.execute(insert(table), copies)
    return [c["id"] for c in copies]


def merge(uow: UnitOfWork, survivor_id: str, merged_id: str) -> MergeInfo:
    s = uow.session
    if survivor_id == merged_id:
        raise ValidationError({"merged_id": "Choose two different records."})
    survivor, merged = s.get(Patient, survivor_id), s.get(Patient, merged_id)
    if survivor is None or merged is None:
        raise NotFound("One of the two patient records no longer exists.")
    if not survivor.active or merged.merged_into_id:
        raise ConflictError("Only two active records can be merged.")
    moved: dict[str, list[str]] = {}
    for table, cls in patient_tables():
        ids = list(s.scalars(select(table.c.id).where(table.c.patient_id == merged_id)))
        if ids:
            moved[table.name] = _move(uow, table, cls, ids, survivor_id)
    # Identity (re-)pointed rows are loaded fresh from here on.
    s.expire_all()
    merged, survivor = s.get(Patient, merged_id), s.get(Patient, survivor_id)
    assert merged is not None and survivor is not None
    merged.active, merged.merged_into_id = False, survivor_id
    _drop_temporary_twins(survivor)
    uow.changed(merged)
    uow.changed(survivor)  # its record gained the merged one's phones and identifiers
    record = PatientMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        merged_at=uow.core.now(),
        merged_by=uow.actor.user_id if uow.actor else "system",
        moved=json.dumps(moved),
    )
    s.add(record)
    s.flush()
    uow.changed(record)
    return info(record)


def _drop_temporary_twins(survivor: Patient) -> None:
    """The two records of a possible duplicate (one MRN registered twice offline, held here
    under a temporary value: ``domain/held_identifiers.py``) merged: the survivor now has the
    MRN itself, so the temporary copy goes."""
    real = {(i.system, i.value) for i in survivor.identifiers if not held.is_temporary(i.value)}
    for i in list(survivor.identifiers):
        if held.is_temporary(i.value) and (i.system, held.real(i.value)) in real:
            survivor.identifiers.remove(i)


def revert(uow: UnitOfWork, merge_id: str) -> MergeInfo:
    s = uow.session
    record = s.get(PatientMerge, merge_id)
    if record is None:
        raise NotFound("That merge was not found.")
    if record.reverted_at is not None:
        raise ConflictError("That merge was already undone.")
    # The two records go first in the outbox, survivor first: another workstation then takes
    # the identifiers off the survivor before the merged record gets them back (each is unique
    # there), and holds the merged record active again before its records come back to it (else
    # it would move them on to the survivor, as records booked for a merged-away patient).
    for pid in (record.survivor_id, record.merged_id):
        row = s.get(Patient, pid)
        if row is not None:
            uow.changed(row)
    moved: dict[str, list[str]] = json.loads(record.moved)
    tables = {t.name: (t, c) for t, c in patient_tables()}
    for name, ids in moved.items():
        if name in tables:
            table, cls = tables[name]
            _move(uow, table, cls, ids, record.merged_id)
    _move(uow, cast(Table, ClinicalNote.__table__), ClinicalNote,
          _notes_signed_for(s, record.survivor_id, record.merged_id), record.merged_id)
    s.expire_all()
    record = s.get(PatientMerge, merge_id)
    merged = s.get(Patient, record.merged_id) if record else None
    survivor = s.get(Patient, record.survivor_id) if record else None
    assert record is not None and merged is not None and survivor is not None
    merged.active, merged.merged_into_id = True, None
    uow.changed(merged)
    uow.changed(survivor)
    record.reverted_at = uow.core.now()
    record.reverted_by = uow.actor.user_id if uow.actor else None
    uow.changed(record)
    return info(record)


def _notes_signed_for(s: Session, survivor_id: str, merged_id: str) -> list[str]:
    """Signed notes on the survivor that were signed in the merged record (or a record merged
    into it) and that the merge's list does not name: moved there by another workstation's
    sync after the merge reached it. Their seal says where they belong."""
    seals = NoteSeals(s)
    sources = {merged_id, *merged_sources(s, merged_id)}
    out = []
    for n in s.scalars(select(ClinicalNote).where(ClinicalNote.patient_id == survivor_id,
                                                  ClinicalNote.status == "signed")):
        verdict = seals.check(n)
        if verdict.intact and verdict.signed_for in sources:
            out.append(n.id)
    return out


def info(r: PatientMerge) -> MergeInfo:
    return MergeInfo(
        r.id, r.survivor_id, r.merged_id, r.merged_at, json.loads(r.moved), r.reverted_at
    )
