"""Applying a pulled page at speed: what a page needs is read at once, new records written at once.

``PageApplier`` is the ``RemoteApplier`` the pull uses; it changes how, never what:

* ``prefetch`` reads the page's records, their pending local changes and merge bases with a
  few queries (one per table or type and 500 ids) and holds them for the page, so that
  ``apply`` reads memory instead of the store for each change.
* A record this workstation does not hold, that no local change, merge base or merged-away
  patient touches (the whole of a new workstation's first pull), is not built through the
  ORM: its rows (``ResourceMap.new_record``) and merge base are kept and written with the
  page's other new records in a few multi-row inserts (``finish``), parents first; new
  appointments are then checked for double-bookings as one by one.
* A newer version of a record held here with no pending local change, whose merge base is
  held and that no merged-away patient touches (most of a sync's pulled changes: records
  edited elsewhere), is not applied through the ORM either: its rows
  (``new_record(..., held=True)``) are written over the held ones with the page's other such
  records (``update_held``: its columns, its child rows replaced as the ORM replaces them),
  and its merge base moved on, in a few statements of many rows.
* Everything else (merges with local edits, deletions, revived records, merged-away patients'
  records) goes the usual way, after the records kept so far are written; kept records are
  written in runs of the feed's order (new records, then updates, then new records...), so
  the order of the feed is kept. The page's one ``sync.apply`` access-log entry names every
  record it applied (``RemoteApplier.log_page``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, aliased, selectinload

from ..domain.enums import OutboxStatus
from ..store.models import Appointment, OutboxChange, Patient, SyncBase
from . import sync_state as st
from .merge_follow import MergeFollower
from .remote_apply import INACTIVE_APPOINTMENT, RemoteApplier, longest_appointment

Json = dict[str, Any]
Key = tuple[str, str]  # (table, id)
CHUNK = 500


class PageApplier(RemoteApplier):
    """A ``RemoteApplier`` for one pulled page: ``prefetch``, ``apply`` each change, ``finish``.

    ``merged_patients``: ids of merged-away patients (records pointing at them go the usual
    way, which moves them to the survivor); carried from page to page by the caller, ``None``
    to read it again."""

    merged_patients: set[str] | None = None
    fresh: FreshTables | None = None  # carried from page to page by the caller
    # What the fetching thread made of the page (its new records' rows, its merge bases'
    # text): used instead of making them again.
    made_apart: MadeApart | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_log = {}  # one access-log entry for the page (``log_page``)
        self.rmap = _PulledMap(self.rmap, self)
        self.follow = _Follower(self, self.s, self.rmap, self.ws, self.now)
        self._pulled: Json | None = None  # the resource of the change being applied
        self._held_rows: list[Any] = []  # the identity map holds rows only weakly
        self._missing: set[Key] = set()
        self._pending: dict[Key, list[OutboxChange]] | None = None
        self._read: set[Key] = set()  # the keys prefetch read
        self._held_already: dict[Key, _Held] = {}  # no change of this page applies to them
        self._moved = 0
        self._older: dict[Key, int] = {}  # held here at an older version: that version
        self._usual: set[str] = set()  # ids of records this page applied the usual way
        self._kept: list[_Kept] = []  # records to write at once, in the feed's order
        self._new_keys: set[Key] = set()  # ... their keys
        self._unheard: set[Key] = set()  # records of fresh tables no earlier page brought

    # -- reading a page at once ----------------------------------------------------------------

    def prefetch(self, changes: Iterable[Json]) -> None:
        keys: dict[Key, tuple[str, int]] = {}  # (table, id) -> (type, newest version here)
        for c in changes:
            resource = c.get("resource")
            if resource is None:
                if self.fresh is not None:  # its record, if revived later, is looked up
                    self.fresh.seen.add((str(c["resource_type"]), str(c["id"])))
                continue  # a deletion: read when applied
            try:
                table = self.rmap.table_for(resource)
            except Exception:  # noqa: BLE001, S112 - a type this workstation does not hold
                continue
            if table in self.rmap.tables:
                key, version = (table, str(c["id"])), int(c["version"])
                keys[key] = (str(c["resource_type"]), max(version, keys.get(key, ("", 0))[1]))
        by_table: dict[str, list[str]] = {}
        for table, rid in keys:
            by_table.setdefault(table, []).append(rid)
        pending: dict[Key, list[OutboxChange]] = {}
        wanted: set[Key] = set()  # records this page may change (not held yet, or older here)
        queued = set(self.s.scalars(select(OutboxChange.table_name).where(  # tables with any
            OutboxChange.status == OutboxStatus.PENDING,  # pending change (a first pull: none)
            OutboxChange.table_name.in_(by_table)).distinct()))
        unheard: set[Key] = set()  # records of fresh tables no earlier page brought
        for table, ids in by_table.items():
            if self.fresh is not None and table in self.fresh.tables:
                seen = self.fresh.seen
                unheard.update((table, rid) for rid in ids
                               if (keys[(table, rid)][0], rid) not in seen)
                ids = [rid for rid in ids if (table, rid) not in unheard]
                seen.update((keys[(table, rid)][0], rid) for rid in by_table[table])
            model = self.rmap.model(table)
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                held: dict[str, int | None] = dict(self.s.execute(select(
                    model.id, model.server_version).where(
                    model.id.in_(chunk))).all())
                for rid in chunk:
                    here = held.get(rid)
                    if here is not None and here >= keys[(table, rid)][1]:
                        # Held already at this version or later (our own change coming back):
                        # every change of it in this page is skipped; nothing more to read.
                        self._held_already[(table, rid)] = _Held(here)
                    else:
                        wanted.add((table, rid))
                        if rid not in held:
                            self._missing.add((table, rid))
                        elif here is not None:
                            self._older[(table, rid)] = here
                if table not in queued:
                    continue  # no local edit to merge with: updates are written at once
                older = [rid for rid in chunk if rid in held and (table, rid) in wanted]
                if older:
                    self._held_rows += self.s.scalars(select(model).where(
                        model.id.in_(older)).options(*_children(model))).all()
                for change in self.s.scalars(select(OutboxChange).where(
                        OutboxChange.table_name == table,
                        OutboxChange.resource_id.in_([r for r in chunk if (table, r) in wanted]),
                        OutboxChange.status == OutboxStatus.PENDING)):
                    pending.setdefault((table, change.resource_id), []).append(change)
        wanted.update(unheard)
        self._missing.update(unheard)
        self._unheard = unheard
        self._pending, self._moved = pending, self.follow.moved
        self._read = set(keys)
        st.know_no_bases(self.s, ((keys[k][0], k[1]) for k in unheard))
        st.load_bases(self.s, ((keys[k][0], k[1]) for k in wanted - unheard))

    def apply(self, resource_type: str, rid: str, version: int, op: str,
              resource: Json | None) -> bool:
        if op != "delete" and resource is not None and \
                self._new_at_once(resource_type, rid, version, resource):
            return True
        self._pulled = resource
        try:
            if op != "delete" and self._keep_update(resource_type, rid, version, resource):
                return True
            self._usual.add(rid)  # its later changes in this page go the usual way too
            return super().apply(resource_type, rid, version, op, resource)
        finally:
            self._pulled = None

    def pending(self, table: str, rid: str) -> list[OutboxChange]:
        if self.follow.moved != self._moved:
            self._pending = None  # a merged-away patient's records moved: changes were queued
        if self._pending is None or (table, rid) not in self._read:
            return super().pending(table, rid)
        return list(self._pending.get((table, rid), ()))

    def _held(self, model: type[Any], table: str, rid: str) -> Any:
        key = (table, rid)
        if key in self._held_already:
            return self._held_already[key]
        if key in self._new_keys:
            self.finish()  # an earlier change of this page added it: write that first
        if key in self._missing:
            self._missing.discard(key)  # after this change it may exist: ask the store again
            return None
        return super()._held(model, table, rid)

    # -- records written at once --------------------------------------------------------------

    def _new_at_once(self, rtype: str, rid: str, version: int, resource: Json) -> bool:
        """Keep a record that no earlier change of this pull brought (``unheard`` by
        ``prefetch``: not held, no local change, no merge base) and whose rows the fetching
        thread made, as ``apply`` would keep it the longer way (``_keep_update`` declining,
        ``RemoteApplier.apply`` finding no row and no pending change, ``_buffer_new``): a new
        workstation's first pull is nearly all such records. Anything else (a second change of
        the record in this page, merged-away patients' records moved meanwhile, a record of a
        merged-away patient) goes that longer way."""
        new = None if self.made_apart is None else \
            self.made_apart.records.get((rtype, rid, version))
        if new is None:
            return False
        key = (new.table, rid)
        if key not in self._unheard or key not in self._missing or key in self._new_keys or \
                rid in self._usual or self.follow.moved != self._moved or \
                self._follows_a_merge(new.row):
            return False
        self._missing.discard(key)  # (as ``_held`` does: after this change it may exist)
        self._usual.add(rid)  # (as ``apply`` does: its later changes go the longer way)
        self._kept.append(_Kept(False, new, new.table, rid, version, resource, None,
                                self._base_text(rtype, rid, version)))
        self._new_keys.add(key)
        return True

    def _keep_update(self, rtype: str, rid: str, version: int, resource: Json | None) -> bool:
        """Keep a newer version of a record held here to write with others (``finish``), when
        nothing needs the ORM for it; False: apply it the usual way."""
        update = getattr(self.rmap, "update_held", None)  # a map without it: the usual way
        make = getattr(self.rmap, "new_record", None)
        if resource is None or update is None or make is None or rid in self._usual:
            return False
        try:
            table = self.rmap.table_for(resource)
        except Exception:  # noqa: BLE001 - a type this workstation does not hold
            return False
        here = self._older.get((table, rid))
        if here is None or version <= here or self.pending(table, rid):
            return False
        base = st.base_of(self.s, rtype, rid)
        if base is None:
            return False
        new = self._made(rtype, rid, version)
        if new is None:
            try:
                new = make(self.s, resource, version, held=True)
            except LookupError:  # the mapping reads the held row: the usual way
                return False
        # (made apart as a new record: the same rows, but this workstation's revision count)
        new = replace(new, row={k: v for k, v in new.row.items() if k != "local_revision"})
        if self._follows_a_merge(new.row):
            return False
        if (table, rid) in self._new_keys:
            self.finish()  # an earlier version of it is kept: written first
        self._kept.append(_Kept(True, new, table, rid, version, resource, base,
                                self._base_text(rtype, rid, version)))
        self._new_keys.add((table, rid))
        self._older[(table, rid)] = version
        return True

    def _buffer_new(self, table: str, rtype: str, rid: str, version: int,
                    resource: Json | None) -> bool:
        new = None
        make = getattr(self.rmap, "new_record", None)  # a map without it: the usual way
        if make is not None and resource is not None and st.base_of(self.s, rtype, rid) is None:
            new = self._made(rtype, rid, version) or make(self.s, resource, version)
        if new is None or self._follows_a_merge(new.row):
            return False  # the usual way (after the records kept before it: _before_usual)
        self._kept.append(_Kept(False, new, table, rid, version, resource or {}, None,
                                self._base_text(rtype, rid, version)))
        self._new_keys.add((table, rid))
        return True

    def _made(self, rtype: str, rid: str, version: int) -> Any:
        """The record's rows as the fetching thread made them, if it did."""
        return None if self.made_apart is None else \
            self.made_apart.records.get((rtype, rid, version))

    def _base_text(self, rtype: str, rid: str, version: int) -> str | None:
        """The resource's merge base as stored, if the fetching thread wrote it."""
        return None if self.made_apart is None else \
            self.made_apart.bases.get((rtype, rid, version))

    def _follows_a_merge(self, row: Json) -> bool:
        """A merged-away patient, or a record of one: the merge follower's (the usual way)."""
        patient = row.get("patient_id")
        return bool(row.get("merged_into_id")) or (
            patient is not None and patient in self._merged())

    def _before_usual(self) -> None:
        self.finish()

    def finish(self) -> None:
        """Write the records kept (in runs of the feed's order: new records, updates of held
        ones), their merge bases and access-log entries, then check their appointments for
        double-bookings."""
        if not self._kept:
            return
        kept, self._kept, self._new_keys = self._kept, [], set()
        for held, run_ in groupby(kept, key=lambda k: k.held):
            run = list(run_)
            if held:
                self.rmap.update_held(self.s, [k.rows for k in run])  # type: ignore[attr-defined]
                st.update_bases(self.s, [(k.base, k.version, k.base_text or k.resource)
                                         for k in run if k.base is not None])
            else:
                self.rmap.insert_new(self.s, [k.rows for k in run])  # type: ignore[attr-defined]
                st.add_bases(self.s, [(str(k.resource["resourceType"]), k.rid, k.version,
                                       k.base_text or k.resource) for k in run])
            for k in run:
                self._note_in_page(str(k.resource["resourceType"]), k.rid, k.version, "upsert")
            for rid in self._may_clash([k.rows.row for k in run if k.table == "appointment"]):
                self.check_double_booking(rid)

    def _may_clash(self, rows: list[Json]) -> list[str]:
        """Of these new appointments, those another active one of the practitioner overlaps
        (one query per 500): only they need ``check_double_booking``, which decides and
        records. An overlapping one starts after this one's start minus the practitioners'
        longest appointment: without that bound each was checked against every earlier
        appointment of its practitioner (a first pull: n against up to n)."""
        if not rows:
            return []
        ids = [str(r["id"]) for r in rows]
        since = func.datetime(func.julianday(Appointment.start_at) - longest_appointment(
            self.s, (str(r["practitioner_id"]) for r in rows)))
        other = aliased(Appointment)
        found: set[str] = set()
        for start in range(0, len(ids), CHUNK):
            found.update(self.s.scalars(select(Appointment.id).join(other, and_(
                other.practitioner_id == Appointment.practitioner_id, other.id != Appointment.id,
                other.start_at > since,
                other.start_at < Appointment.end_at, other.end_at > Appointment.start_at,
                other.status.not_in(INACTIVE_APPOINTMENT))).where(
                Appointment.id.in_(ids[start:start + CHUNK]),
                Appointment.status.not_in(INACTIVE_APPOINTMENT))))
        return [rid for rid in ids if rid in found]

    def merged(self) -> set[str]:
        return self._merged()

    def _merged(self) -> set[str]:
        if self.merged_patients is None:
            self.s.flush()
            self.merged_patients = set(self.s.scalars(
                select(Patient.id).where(Patient.merged_into_id.is_not(None))))
        return self.merged_patients


@dataclass
class FreshTables:
    """The tables that held no record, and whose type no merge base, when a pull from the
    feed's start began (a new workstation's first sync). A record of one of them that no page
    of this pull has brought yet cannot be held here, nor have a merge base or a local change
    (a person can change only what is held; what they add has an id of its own): its page
    adds it without looking it up. Those seen are looked up as usual (a later version of one
    in the same pull, maybe edited here meanwhile)."""

    tables: frozenset[str]
    seen: set[tuple[str, str]] = field(default_factory=set)  # (type, id) pulled so far

    @classmethod
    def at_start(cls, session: Session, rmap: Any) -> FreshTables:
        empty = []
        for table in rmap.tables:
            model = rmap.model(table)
            if session.execute(select(model.id).limit(1)).first() is None and \
                    session.execute(select(SyncBase.resource_id).where(
                        SyncBase.resource_type == model.__fhir_type__).limit(1)).first() is None:
                empty.append(table)
        return cls(frozenset(empty))


@dataclass(frozen=True)
class _Kept:
    """A pulled record kept to write with others: a new one, or (``held``) a newer version of
    a record held here, with its merge base."""

    held: bool
    rows: Any  # the mapping's NewRecord
    table: str
    rid: str
    version: int
    resource: Json
    base: SyncBase | None
    base_text: str | None = None  # the resource as its merge base, written apart


@dataclass(frozen=True)
class MadeApart:
    """What the fetching thread makes of a page a new workstation downloads while the pull's
    thread applies the page before (which spends about half its time in SQLite, letting other
    threads run Python), by (type, id, version): the rows of its new records whose mapping asks
    nothing of the store or the clinic key (``ResourceMap.new_records_apart``; the rest are
    made when applied), and every resource's merge base as stored (``sync_state.base_text``).
    Used only for a record written at once (``finish``): the same rows and text that would
    be made when it is applied."""

    records: dict[tuple[str, str, int], Any]
    bases: dict[tuple[str, str, int], str]

    @classmethod
    def of(cls, changes: Sequence[Json], rmap: Any) -> MadeApart:
        apart = getattr(rmap, "new_records_apart", None)
        records = apart(changes) if apart is not None else {}
        bases = {(str(c["resource_type"]), str(c["id"]), int(c["version"])):
                 st.base_text(c["resource"]) for c in changes
                 if c.get("op") != "delete" and isinstance(c.get("resource"), dict)}
        return cls(records, bases)


@dataclass(frozen=True)
class _Held:
    """A record held at ``server_version`` or later: all ``apply`` needs to skip it."""

    server_version: int


_ASKED_EACH_CHANGE = ("tables", "model", "new_record", "update_held", "insert_new")


class _PulledMap:
    """The resource map as the pull uses it: a pulled resource (as the server holds it, and
    validated there) is applied without another validation and without a flush per record;
    anything else (a merge's result) as usual."""

    def __init__(self, rmap: Any, applier: PageApplier) -> None:
        # The applier holds this map: a weak reference back, so that a page's applier (and
        # the page's records it holds) goes when the page does, not at the collector's next
        # full pass (a reference cycle per page kept every page of a first pull alive until
        # then: 13 of its 64 s were garbage collection, tracing them again and again).
        self._rmap, self._applier_ref = rmap, weakref.ref(applier)
        self._tables: dict[int, tuple[Json, str]] = {}  # id(resource) -> (resource, table)
        for name in _ASKED_EACH_CHANGE:  # found once, not through __getattr__ each time
            if hasattr(rmap, name):
                setattr(self, name, getattr(rmap, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rmap, name)

    def table_for(self, resource: Json) -> str:
        """The table of a pulled resource, found once for the page (asked a few times)."""
        known = self._tables.get(id(resource))
        if known is not None and known[0] is resource:
            return known[1]
        table = str(self._rmap.table_for(resource))
        self._tables[id(resource)] = (resource, table)  # held: its id stays its own
        return table

    def apply(self, session: Any, resource: Json, server_version: int | None) -> tuple[str, str]:
        fast = getattr(self._rmap, "apply_pulled", None)
        if fast is not None and server_version is not None and \
                resource is self._applier_ref()._pulled:  # type: ignore[union-attr]  # noqa: SLF001
            return fast(session, resource, server_version)  # type: ignore[no-any-return]
        return self._rmap.apply(session, resource, server_version)  # type: ignore[no-any-return]


class _Follower(MergeFollower):
    """The merge follower, asked only about records of merged-away patients (a record of any
    other patient stays where it is: the follower would look its patient up to find that)."""

    def __init__(self, applier: PageApplier, *args: Any) -> None:
        super().__init__(*args)
        self._applier_ref = weakref.ref(applier)  # (as _PulledMap's)

    def after_apply(self, table: str, rid: str) -> None:
        row = self.s.get(self.rmap.model(table), rid)
        if table == "patient":
            if row is not None and row.merged_into_id is not None:
                self._applier_ref().merged().add(rid)  # type: ignore[union-attr]
                super().after_apply(table, rid)
            return
        if row is None or getattr(row, "patient_id", None) in \
                self._applier_ref().merged():  # type: ignore[union-attr]
            super().after_apply(table, rid)


def _children(model: type[Any]) -> list[Any]:
    """Eager loads of a record's child rows (identifiers, lines...): read with the page."""
    return [selectinload(r.class_attribute) for r in sa_inspect(model).relationships
            if r.direction.name == "ONETOMANY"]
