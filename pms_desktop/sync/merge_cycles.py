"""Two workstations merging the same records into each other, offline (A into B here, B into A
there): when both merges are held, every record of the ring is merged away and none survives.

After each pull the workstation looks for such a ring of ``replaced-by`` links and settles it
the same way on every workstation, whatever the order the merges arrived in: the record with the
smallest id of the ring survives (a rule that needs no clock and no coordination), active again
with no link; the others stay merged into it; their phones and identifiers move to it (as rows
whose ids are derived from the moved ones, so two workstations settling the same ring make the
same rows), and every record still pointing at them (notes, appointments, invoices ...) moves to
it as in any merge (``MergeFollower``). Each change syncs like any other; two workstations
settling the same ring push the same values. A ``merge-ring`` notice on the survivor (conflicts
window) tells a person what happened; the other record's merge can be undone from the patient's
merges (Undo merge) if the clinic wanted the other number kept.

The workstation that pushed into the clash three-way merged the other's merge with its own
first, which raised conflicts the settlement makes moot (``_close_settled``): the phones, emails
and identifiers each merge moved the opposite way, closed only when the settled survivor holds
every entry either side of the conflict offered (by system, value and use: a number one side
changed and the other did not keep stays offered), and an edit "lost" to a merge on the record
that survives after all. A unit both sides truly changed stays a conflict for a person, as a
choice between the two values.

A phone, email or identifier list both sides changed is one such choice, made on the survivor
(``_one_choice``): the conflicts the clash raised sit on whichever record each side kept, and a
merged-away record's side of them holds nothing but its search digits (its entries moved to its
survivor), so taking either side there wrote a list onto the merged record or emptied the
survivor's. They become one conflict on the survivor per list the survivor lacks: "local" keeps
the list it holds, "remote" puts that other list on it; nothing else is offered (each number of
the closed conflicts is held, or in a list still offered).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..store import audit_log, outbox
from ..store.models import Patient, PatientIdentifier, PatientTelecom, SyncConflict
from .merge import units_of
from .merge_follow import MERGE_UNITS, MergeFollower
from .resources import ResourceMap

PARTS = (PatientIdentifier, PatientTelecom)
PART_UNITS = frozenset({"identifier", "phone", "email"})  # the merge units PARTS make
PART_IDS = uuid.UUID("6f3c1f0e-8d53-4a55-9a3c-2b7d43f1c0aa")  # namespace of moved parts' ids
RING = "merge-ring"  # the conflict's kind
REASON = ("These records were merged into each other on two workstations. They are one record "
          "now, this one, holding everything of both; undo the other record's merge (in this "
          "patient's merges) if that one's number should have been kept.")


def rings(s: Session) -> list[list[str]]:
    """Every ring of merged records (each record merged into the next, the last into the first)."""
    links: dict[str, str] = {str(a): str(b) for a, b in s.execute(
        select(Patient.id, Patient.merged_into_id).where(Patient.merged_into_id.is_not(None)))}
    done: set[str] = set()
    found = []
    for start in sorted(links):
        path: dict[str, int] = {}
        cur: str | None = start
        while cur is not None and cur in links and cur not in path and cur not in done:
            path[cur] = len(path)
            cur = links[cur]
        if cur is not None and cur in path:
            found.append(list(path)[path[cur]:])
        done.update(path)
    return found


def settle_rings(s: Session, rmap: ResourceMap, workstation_id: str,
                 now: Callable[[], datetime]) -> int:
    """Settle every ring held here; the number settled."""
    settled = 0
    for ring in rings(s):
        _settle(s, rmap, workstation_id, now, ring)
        settled += 1
    return settled


def _settle(s: Session, rmap: ResourceMap, ws: str, now: Callable[[], datetime],
            ring: list[str]) -> None:
    survivor_id = min(ring)
    losers = [p for p in ring if p != survivor_id]
    for loser_id in losers:  # queued first: they give up their parts before the survivor has them
        _move_parts(s, loser_id, survivor_id)
        loser = s.get(Patient, loser_id)
        assert loser is not None
        loser.active = False
        outbox.record_change(s, loser, user_id=None, now=now())
    survivor = s.get(Patient, survivor_id)
    assert survivor is not None
    survivor.active, survivor.merged_into_id = True, None
    s.flush()
    outbox.record_change(s, survivor, user_id=None, now=now())
    follow = MergeFollower(s, rmap, ws, now)
    for loser_id in losers:
        follow.after_apply("patient", loser_id)
    audit_log.append(s, workstation_id=ws, at=now(), action="sync.merge_ring", outcome="success",
                     resource_type="Patient", resource_id=survivor_id, patient_id=survivor_id,
                     detail={"merged": losers, "moved": follow.moved})
    _close_settled(s, rmap, ring, survivor_id, now())
    _notice(s, survivor, losers, now())


def _close_settled(s: Session, rmap: ResourceMap, ring: list[str], survivor_id: str,
                   at: datetime) -> None:
    """Close the ring's conflicts that the settlement made moot; a "merged" conflict on the
    survivor that both sides changed becomes a choice between the two values ("field")."""
    open_ = s.scalars(select(SyncConflict).where(
        SyncConflict.resource_type == "Patient", SyncConflict.resource_id.in_(ring),
        SyncConflict.kind.in_(("field", "merged")), SyncConflict.resolved_at.is_(None))).all()
    if not open_:
        return
    survivor = rmap.resource_for(s, "patient", survivor_id)
    lists: dict[str, list[SyncConflict]] = {}  # part units still to decide, by unit
    for c in open_:
        unit = c.field or ""
        if unit in MERGE_UNITS or (unit in PART_UNITS and _all_held(
                survivor, unit, rmap, (c.local_value, c.remote_value))):
            c.resolved_at, c.resolution = at, "settled"
        elif unit in PART_UNITS:
            lists.setdefault(unit, []).append(c)
        else:
            _for_a_person(c, survivor_id, at)
    for unit, conflicts in lists.items():
        if not _one_choice(survivor, survivor_id, unit, rmap, conflicts, at):
            for c in conflicts:
                _for_a_person(c, survivor_id, at)


def _for_a_person(c: SyncConflict, survivor_id: str, at: datetime) -> None:
    """A "merged" conflict on the survivor: settled when changed here only (the survivor has
    it), else a choice between the two values; any other stays as it is."""
    if c.kind == "merged" and c.resource_id == survivor_id:
        if _same_text(c.base_value, c.remote_value):
            c.resolved_at, c.resolution = at, "settled"
        else:
            c.kind, c.detail = "field", None


def _one_choice(survivor: Any, survivor_id: str, unit: str, rmap: ResourceMap,
                conflicts: list[SyncConflict], at: datetime) -> bool:
    """Make a ring's open conflicts of one part unit a choice on the survivor between the list
    it holds ("local") and each whole list a side offered that it lacks ("remote"); False (and
    nothing changed) when some number they offer would then be offered nowhere, or when they
    offer more such lists than there are conflicts to ask them (one list would be dropped)."""
    offered: dict[frozenset[tuple[Any, ...]], Any] = {}  # whole lists the survivor lacks
    for c in conflicts:
        for text in (c.local_value, c.remote_value):
            value = json.loads(text or "null")
            keys = frozenset(_key(e) for e in _entries(value))
            if keys and not _all_held(survivor, unit, rmap, (text,)):
                offered.setdefault(keys, value)
    kept = [json.dumps(v, sort_keys=True) for v in offered.values()]
    if not offered or len(offered) > len(conflicts) or not all(
            _all_held(survivor, unit, rmap, (c.local_value, c.remote_value), also=kept)
            for c in conflicts):
        return False
    held = json.dumps(units_of(survivor, rmap.derived).get(unit), sort_keys=True)
    ordered = sorted(conflicts, key=lambda c: (c.created_at, c.id))
    for c, value in zip(ordered, offered.values(), strict=False):
        c.resource_id, c.kind, c.detail = survivor_id, "field", None
        c.local_value, c.remote_value = held, json.dumps(_fresh_ids(value), sort_keys=True)
    for c in ordered[len(offered):]:
        c.resolved_at, c.resolution = at, "settled"
    return True


def _entries(value: Any) -> list[dict[str, Any]]:
    return [e for e in _atoms(value) if isinstance(e, dict) and "system" in e]


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry.get("system"), entry.get("value"), entry.get("use"))


def _fresh_ids(value: Any) -> Any:
    """A list for the survivor: its entries' row ids were another record's (or another
    workstation's), so the survivor's rows get ids of their own when it is taken."""
    if isinstance(value, dict) and "system" in value:
        return {k: v for k, v in value.items() if k != "id"}
    if isinstance(value, dict):
        return {k: _fresh_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh_ids(v) for v in value]
    return value


def _all_held(survivor: Any, unit: str, rmap: ResourceMap,
              offered: tuple[str | None, ...], also: list[str] | None = None) -> bool:
    """Whether the settled survivor (or one of the lists ``also`` still offered) holds every
    entry either side of a conflict offered (by system, value and use; not by row id, rank or
    other detail, which a merge may change): a number or identifier it lacks keeps the conflict
    open for a person."""
    held: set[tuple[Any, ...]] = set()
    value = units_of(survivor, rmap.derived).get(unit) if survivor else None
    for entry in _atoms(value) + [e for t in also or [] for e in _atoms(json.loads(t))]:
        if isinstance(entry, dict) and "system" in entry:
            key = (entry.get("system"), entry.get("value"))
            held |= {("any", entry.get("value")), ("any", _digits(entry)), key,
                     (*key, entry.get("use"))}
    for text in offered:
        for entry in _atoms(json.loads(text or "null")):
            if isinstance(entry, dict) and "system" in entry:
                key = (entry.get("system"), entry.get("value"))
                if (key if entry.get("use") is None else (*key, entry["use"])) not in held:
                    return False
            elif isinstance(entry, dict) and "valueString" in entry:  # a derived search digits
                if ("any", entry["valueString"]) not in held:
                    return False
    return True


def _atoms(value: Any) -> list[Any]:
    """A unit's value as a flat list: its entries (a grouped unit's parts unpacked)."""
    parts = value.values() if isinstance(value, dict) and "system" not in value else [value]
    out: list[Any] = []
    for part in parts:
        out += part if isinstance(part, list) else [part] if part is not None else []
    return out


def _digits(entry: dict[str, Any]) -> Any:
    for ext in entry.get("extension") or []:
        if isinstance(ext, dict) and "valueString" in ext:
            return ext["valueString"]
    return None


def _same_text(a: str | None, b: str | None) -> bool:
    return json.dumps(json.loads(a or "null"), sort_keys=True) == \
        json.dumps(json.loads(b or "null"), sort_keys=True)


def _move_parts(s: Session, from_id: str, to_id: str) -> None:
    for model in PARTS:
        table: Any = model.__table__
        rows = [dict(r._mapping) for r in s.execute(select(table).where(
            table.c.patient_id == from_id))]
        if not rows:
            continue
        s.execute(delete(table).where(table.c.patient_id == from_id))
        s.execute(insert(table), [{**r, "patient_id": to_id,
                                   "id": str(uuid.uuid5(PART_IDS, f"{r['id']}>{to_id}"))}
                                  for r in rows])
    s.expire_all()


def _notice(s: Session, survivor: Patient, losers: list[str], at: datetime) -> None:
    """One open notice per survivor: what happened, in words."""
    held = s.scalars(select(SyncConflict).where(
        SyncConflict.kind == RING, SyncConflict.resource_id == survivor.id,
        SyncConflict.resolved_at.is_(None))).first()
    if held is None:
        s.add(SyncConflict(kind=RING, resource_type="Patient", resource_id=survivor.id,
                           field="(merged both ways)", created_at=at,
                           detail=json.dumps({"reason": REASON, "survivor_id": survivor.id,
                                              "merged_ids": losers})))
