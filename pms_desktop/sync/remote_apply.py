"""Applying one remote change locally: directly, or merged with unsynced local edits.

Every applied change is written to the access log (action ``sync.apply``), in the caller's
transaction: one entry per change, or, for a pulled page (``page_log``), one entry for the page
naming every record it applied with its version (``log_page``). A record with a pending local
change is never overwritten: the three-way merge keeps local-only and remote-only edits, and a
field changed on both sides becomes a ``SyncConflict`` with both values. An appointment that
lands on top of another one of the same practitioner raises a ``double-booking`` conflict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.enums import OutboxStatus
from ..domain.errors import ValidationError
from ..store import audit_log
from ..store.models import Appointment, OutboxChange, SyncConflict
from . import possible_duplicates as dup
from . import sync_state as st
from .merge import FieldConflict, three_way
from .merge_follow import MergeFollower, edits_lost_to_merge, replaced_by
from .resources import ResourceMap, table_holding

Json = dict[str, Any]
INACTIVE_APPOINTMENT = ("cancelled", "noshow", "entered-in-error")
SETTLED_KINDS = ("double-booking", "unapplied", dup.KIND)  # conflicts a later change may close


class RemoteApplier:
    def __init__(self, session: Session, rmap: ResourceMap, workstation_id: str,
                 now: Callable[[], datetime]) -> None:
        self.s, self.rmap, self.ws, self.now = session, rmap, workstation_id, now
        self.new_conflicts = 0
        self.follow = MergeFollower(session, rmap, workstation_id, now)
        # A pulled page's applied records ("Type/id" -> version, under "applied" or "deleted"):
        # ``None`` writes an entry per change instead.
        self.page_log: dict[str, dict[str, int]] | None = None

    # -- entry points ------------------------------------------------------------------------

    def apply(self, resource_type: str, rid: str, version: int, op: str,
              resource: Json | None) -> bool:
        """Apply one change of the feed; False when it is not ours to hold or already held."""
        table = self._table(resource_type, rid, resource)
        if table is None:
            return False
        model = self.rmap.model(table)
        row = self._held(model, table, rid)
        if row is not None and row.server_version is not None and row.server_version >= version:
            return False  # our own change coming back, or an older one
        pending = self.pending(table, rid)
        if row is None and not pending and op != "delete" and \
                self._buffer_new(table, resource_type, rid, version, resource):
            return True  # a record new here, written with the page's others (page_apply)
        self._before_usual()
        if op == "delete":
            self._delete(table, resource_type, rid, version, row, pending)
        elif pending and row is not None:
            self.merge_into_local(table, rid, resource or {}, version, pending)
        else:
            self.rmap.apply(self.s, resource or {}, version)
            st.set_base(self.s, resource_type, rid, version, resource)
            self.follow.after_apply(table, rid)
        self._audit(table, resource_type, rid, version, op)
        if table == "appointment":
            self.check_double_booking(rid)
        return True

    def apply_guarded(self, resource_type: str, rid: str, version: int, op: str,
                      resource: Json | None) -> bool:
        """``apply`` in a savepoint. A change this workstation cannot hold (a value another
        record here already has where it must be unique, as the same MRN registered on two
        workstations offline; a resource it cannot read) becomes an ``unapplied`` conflict
        and the feed goes on: it is tried again at the end of every pull (``retry_unapplied``)
        and by the drift repair, and the conflict closes itself once the change is held."""
        noted = self._page_notes(resource_type, rid)
        try:
            with self.s.begin_nested():
                done = self.apply(resource_type, rid, version, op, resource)
        except (IntegrityError, ValidationError) as e:
            self._page_notes(resource_type, rid, restore=noted)  # rolled back: not applied
            if isinstance(e, IntegrityError) and resource_type == "Patient" and resource:
                try:
                    with self.s.begin_nested():
                        if self._hold_possible_duplicate(rid, version, resource):
                            return True
                except (IntegrityError, ValidationError) as again:
                    self._page_notes(resource_type, rid, restore=noted)
                    e = again
            self._unapplied(resource_type, rid, version, resource, e)
            return False
        return done

    def _hold_possible_duplicate(self, rid: str, version: int, resource: Json) -> bool:
        """A pulled patient with an identifier (MRN, PPSN ...) another patient here has: held
        with a temporary value (locally only; its merge base keeps the real one) and a
        ``possible-duplicate`` conflict per identifier naming both (``possible_duplicates``).
        False: not an identifier clash."""
        found = dup.clashes(self.s, rid, resource)
        if not found:
            return False
        self.apply("Patient", rid, version, "upsert", dup.marked(resource, rid, found))
        st.set_base(self.s, "Patient", rid, version, resource)
        for c in found:
            self.record_conflict("Patient", rid, version, FieldConflict(
                c.field, None, dup.summary(self.s, c.holder, c), dup.summary(self.s, rid, c)),
                kind=dup.KIND, detail=c.detail(rid))
        return True

    def _unapplied(self, rtype: str, rid: str, version: int, resource: Json | None,
                   error: Exception) -> None:
        self.record_conflict(rtype, rid, version, FieldConflict(
            "(not stored here)", None, None, resource), kind="unapplied",
            detail={"reason": _why_not_held(error)})

    def merge_into_local(self, table: str, rid: str, remote: Json, version: int,
                         pending: list[OutboxChange]) -> bool:
        """Merge ``remote`` into the local row; True when the result differs from ``remote``."""
        rtype = str(remote.get("resourceType"))
        local = self.rmap.resource_for(self.s, table, rid)
        base = st.base_resource(self.s, rtype, rid)
        if base is not None and base.get("deleted"):
            base = None
        result = three_way(base, local, remote, self.rmap.derived)
        self.rmap.apply(self.s, result.merged, version)
        st.set_base(self.s, rtype, rid, version, remote)
        for change in pending:
            if change.sent_body is None:
                change.base_version = version
        conflicts = {c.field: c for c in result.conflicts}
        for c in edits_lost_to_merge(base, local, remote, self.rmap.derived):
            conflicts[c.field] = c  # an edit to a record merged away meanwhile
        survivor = replaced_by(remote)
        for conflict in conflicts.values():
            self.record_conflict(rtype, rid, version, conflict, kind=conflict.kind,
                                 detail={"survivor_id": survivor} if survivor else None)
        self.follow.after_apply(table, rid)
        return not result.same_as_remote

    def _held(self, model: type[Any], table: str, rid: str) -> Any:
        """The local row (``PageApplier`` answers from what it read for the whole page)."""
        return self.s.get(model, rid)

    def _buffer_new(self, table: str, rtype: str, rid: str, version: int,
                    resource: Json | None) -> bool:
        """Keep a record new here to write with others (``PageApplier``); False: apply now."""
        return False

    def _before_usual(self) -> None:
        """Before a change is applied the usual way (``PageApplier``: the records kept to
        write with others are written first, in the feed's order)."""

    def pending(self, table: str, rid: str) -> list[OutboxChange]:
        return list(self.s.scalars(select(OutboxChange).where(
            OutboxChange.table_name == table, OutboxChange.resource_id == rid,
            OutboxChange.status == OutboxStatus.PENDING)))

    # -- double-booking ----------------------------------------------------------------------

    def check_double_booking(self, appointment_id: str) -> None:
        a = self.s.get(Appointment, appointment_id)
        if a is None or a.status in INACTIVE_APPOINTMENT:
            return
        since = a.start_at - timedelta(days=longest_appointment(self.s, [a.practitioner_id]))
        others = self.s.scalars(select(Appointment).where(
            Appointment.practitioner_id == a.practitioner_id, Appointment.id != a.id,
            Appointment.start_at > since,
            Appointment.start_at < a.end_at, Appointment.end_at > a.start_at,
            Appointment.status.not_in(INACTIVE_APPOINTMENT)))
        for other in others:
            if other.overbook_reason or a.overbook_reason or self._open_pair(a.id, other.id):
                continue
            self.s.add(SyncConflict(
                kind="double-booking", resource_type="Appointment", resource_id=a.id,
                field="practitioner time", created_at=self.now(),
                local_value=json.dumps(_appointment_summary(other)),
                remote_value=json.dumps(_appointment_summary(a)),
                detail=json.dumps({"local_appointment_id": other.id,
                                   "remote_appointment_id": a.id})))
            self.new_conflicts += 1

    def settle(self) -> None:
        """After a page: close the conflicts that no longer hold (the kinds open, asked once:
        most pages have none)."""
        open_kinds = set(self.s.scalars(select(SyncConflict.kind).where(
            SyncConflict.resolved_at.is_(None), SyncConflict.kind.in_(SETTLED_KINDS)).distinct()))
        if "double-booking" in open_kinds:
            self.settle_double_bookings()
        if "unapplied" in open_kinds:
            self.settle_unapplied()
        if dup.KIND in open_kinds:
            self.settle_possible_duplicates()

    def after_pull(self) -> int:
        """At the end of every pull: what was held back is tried again, and the clashes
        corrected since (here or elsewhere) close. Returns how many changes were applied."""
        applied = self.retry_unapplied()
        self.settle_possible_duplicates()
        return applied

    def settle_possible_duplicates(self) -> None:
        """Close the ``possible-duplicate`` conflicts whose clash is over (one patient's
        identifier corrected or the patient merged away: the real value comes back where it
        was held temporarily)."""
        for c in self.s.scalars(select(SyncConflict).where(
                SyncConflict.kind == dup.KIND, SyncConflict.resolved_at.is_(None))).all():
            d = json.loads(c.detail or "{}")
            if dup.settle(self.s, str(d.get("patient_id")), dup.Clash.of(d)):
                c.resolved_at, c.resolution = self.now(), "settled"

    def retry_unapplied(self) -> int:
        """Try the open ``unapplied`` conflicts' changes again (as pulled: the conflict keeps
        the newest version that could not be held), so that a clash corrected since (one of
        the two records renumbered, here or elsewhere) heals at the next sync; those held now
        close. Returns how many were applied."""
        applied = 0
        for c in self.s.scalars(select(SyncConflict).where(
                SyncConflict.kind == "unapplied", SyncConflict.resolved_at.is_(None),
                SyncConflict.remote_version.is_not(None)).order_by(SyncConflict.created_at)).all():
            resource = json.loads(c.remote_value) if c.remote_value else None
            op = "upsert" if isinstance(resource, dict) else "delete"
            if self.apply_guarded(c.resource_type, c.resource_id, int(c.remote_version or 0),
                                  op, resource if op == "upsert" else None):
                applied += 1
        self.settle_unapplied()
        return applied

    def settle_unapplied(self) -> None:
        """Close ``unapplied`` conflicts whose change (or a later one) is held now."""
        for c in self.s.scalars(select(SyncConflict).where(
                SyncConflict.kind == "unapplied", SyncConflict.resolved_at.is_(None))):
            table = self._table(c.resource_type, c.resource_id, None)
            row = self.s.get(self.rmap.model(table), c.resource_id) if table else None
            if row is not None and (row.server_version or 0) >= (c.remote_version or 0):
                c.resolved_at, c.resolution = self.now(), "settled"

    def settle_double_bookings(self) -> int:
        """Close the open double-booking conflicts that no longer hold: one of the two was
        cancelled or moved, or both were kept on purpose (here or on another workstation,
        whose choice arrived by sync), so that a person decides each clash once per clinic."""
        settled = 0
        for c in self.s.scalars(select(SyncConflict).where(
                SyncConflict.kind == "double-booking", SyncConflict.resolved_at.is_(None))):
            ids = json.loads(c.detail or "{}")
            pair = [self.s.get(Appointment, ids.get(k, "")) for k in
                    ("local_appointment_id", "remote_appointment_id")]
            if _still_clash(*pair):
                continue
            c.resolved_at, c.resolution = self.now(), "settled"
            settled += 1
        return settled

    def _open_pair(self, a: str, b: str) -> bool:
        for c in self.s.scalars(select(SyncConflict).where(
                SyncConflict.kind == "double-booking", SyncConflict.resolved_at.is_(None),
                SyncConflict.resource_id.in_((a, b)))):
            ids = set(json.loads(c.detail or "{}").values())
            if ids == {a, b}:
                return True
        return False

    # -- helpers -----------------------------------------------------------------------------

    def _table(self, resource_type: str, rid: str, resource: Json | None) -> str | None:
        if resource is not None:
            try:
                table = self.rmap.table_for(resource)
            except Exception:  # noqa: BLE001 - a type this workstation does not hold
                return None
            return table if table in self.rmap.tables else None
        held = table_holding(self.s, self.rmap, resource_type, rid)  # a deletion: by its id
        if held is not None:
            return held
        for table in self.rmap.tables:  # held nowhere: only its tombstone is kept
            if self.rmap.model(table).__fhir_type__ == resource_type:
                return table
        return None

    def _delete(self, table: str, rtype: str, rid: str, version: int, row: Any,
                pending: list[OutboxChange]) -> None:
        """A tombstone: the record is retired here as everywhere (back to its last agreed
        content, then cancelled, entered in error or made inactive; never deleted, nothing
        clinical is hard-deleted); local edits made meanwhile go to a "deleted" conflict."""
        if row is not None:
            if pending:
                local = self.rmap.resource_for(self.s, table, rid)
                self.record_conflict(rtype, rid, version,
                                     FieldConflict("(deleted elsewhere)", None, local, None),
                                     kind="deleted")
                for change in pending:
                    change.status, change.last_error = OutboxStatus.SENT, "deleted elsewhere"
            base = st.base_resource(self.s, rtype, rid)
            if base is not None and not base.get("deleted"):
                self.rmap.apply(self.s, base, version)
            _retire(table, row)
            row.server_version = version
        st.set_base(self.s, rtype, rid, version, None)

    def record_conflict(self, rtype: str, rid: str, version: int, c: FieldConflict,
                        kind: str = "field", detail: Json | None = None) -> None:
        open_row = self.s.scalars(select(SyncConflict).where(
            SyncConflict.resource_type == rtype, SyncConflict.resource_id == rid,
            SyncConflict.field == c.field, SyncConflict.resolved_at.is_(None))).first()
        if open_row is None:
            open_row = SyncConflict(kind=kind, resource_type=rtype, resource_id=rid,
                                    field=c.field, created_at=self.now())
            self.s.add(open_row)
            self.new_conflicts += 1
        open_row.base_value = _json_text(c.base)
        open_row.local_value = _json_text(c.local)
        open_row.remote_value = _json_text(c.remote)
        open_row.remote_version = version
        if detail is not None:
            open_row.detail = json.dumps(detail)

    def log_page(self, cursor: int, next_cursor: int, changes: int) -> None:
        """The page's one ``sync.apply`` entry: the feed's positions it covers (the server's
        ``sync-pull`` entry names the same), and the records it applied here with their
        versions. A page that applied nothing (this workstation's own changes coming back)
        writes none. Not tied to a patient: it is the clinic's data reaching this workstation,
        not a person's access (which the workstation where it happened logged)."""
        if not self.page_log:
            return
        audit_log.append(self.s, workstation_id=self.ws, at=self.now(), action="sync.apply",
                         outcome="success", detail={"cursor": cursor, "next_cursor": next_cursor,
                                                    "changes": changes, **self.page_log})
        self.page_log = {}

    def _page_notes(self, rtype: str, rid: str, *,
                    restore: dict[str, int] | None = None) -> dict[str, int]:
        """What the page's entry says of a record so far (by "applied"/"deleted"); with
        ``restore``, put that back first (a change rolled back to its savepoint; a kind left
        naming nothing goes, so that a page that applied nothing writes no entry)."""
        ref = f"{rtype}/{rid}"
        if restore is not None and self.page_log is not None:
            for kind in [*self.page_log, *(k for k in restore if k not in self.page_log)]:
                refs = self.page_log.setdefault(kind, {})
                refs.pop(ref, None)
                if kind in restore:
                    refs[ref] = restore[kind]
                if not refs:
                    del self.page_log[kind]
        return {kind: refs[ref] for kind, refs in (self.page_log or {}).items() if ref in refs}

    def _note_in_page(self, rtype: str, rid: str, version: int, op: str) -> None:
        assert self.page_log is not None
        self.page_log.setdefault("deleted" if op == "delete" else "applied", {})[
            f"{rtype}/{rid}"] = version

    def _audit(self, table: str, rtype: str, rid: str, version: int, op: str) -> None:
        if self.page_log is not None:
            self._note_in_page(rtype, rid, version, op)
            return
        row = self.s.get(self.rmap.model(table), rid)
        patient_id = rid if table == "patient" else getattr(row, "patient_id", None)
        audit_log.append(self.s, workstation_id=self.ws, at=self.now(), action="sync.apply",
                         outcome="success", resource_type=rtype, resource_id=rid,
                         patient_id=patient_id, detail={"version": version, "op": op})


# An appointment's length in days, as indexed by practitioner (store migration 0006).
APPOINTMENT_LENGTH = func.julianday(Appointment.end_at) - func.julianday(Appointment.start_at)


def longest_appointment(session: Session, practitioner_ids: Iterable[str]) -> float:
    """The length in days (a second more, against rounding; never less) of the longest
    appointment of these practitioners in the store: an appointment that overlaps one
    starting at S starts after S minus this. One index entry read per practitioner."""
    longest = 0.0
    for practitioner in set(practitioner_ids):
        days = session.scalar(select(func.max(APPOINTMENT_LENGTH)).where(
            Appointment.practitioner_id == practitioner))
        longest = max(longest, float(days or 0))
    return longest + 1 / 86400


def _json_text(value: Any) -> str:
    """A conflict's value as JSON. Local resources hold money and quantities as ``Decimal``:
    written exactly, as text (the value is shown to a person, never applied back as a number)."""
    def exact(item: Any) -> str:
        if isinstance(item, Decimal):
            return format(item, "f")
        raise TypeError(f"{type(item).__name__} cannot be written as JSON")

    return json.dumps(value, default=exact)


RETIRED_STATUS = {"appointment": "cancelled", "clinical_note": "entered-in-error",
                  "encounter": "entered-in-error", "observation": "entered-in-error",
                  "diagnostic_report": "entered-in-error"}


def _retire(table: str, row: Any) -> None:
    """The local state of a record deleted at the central store, where the record has one."""
    if table in RETIRED_STATUS:
        row.status = RETIRED_STATUS[table]
        if table == "appointment":
            row.cancel_reason = "Deleted at the central store"
    elif hasattr(row, "active"):
        row.active = False


UNIQUE_WORDS = {"patient_identifier": "its identifier (MRN, PPSN ...) is already on another "
                                      "patient here. Two people: correct one identifier; one "
                                      "person: correct one, then merge the two records",
                "staff_user": "its username is already taken by another staff account here",
                "fee_item": "its fee code is already used by another fee here"}


def _why_not_held(error: Exception) -> str:
    """Words for a person: which value clashed, never the record's content."""
    if isinstance(error, IntegrityError):
        text = str(error.orig) if error.orig is not None else str(error)
        for table, words in UNIQUE_WORDS.items():
            if f"{table}." in text:
                return f"Not stored on this workstation: {words}."
        return "Not stored on this workstation: it repeats a value that must be unique here."
    return f"Not stored on this workstation: {error}"


def _still_clash(a: Appointment | None, b: Appointment | None) -> bool:
    if a is None or b is None or a.status in INACTIVE_APPOINTMENT or \
            b.status in INACTIVE_APPOINTMENT or a.overbook_reason or b.overbook_reason:
        return False
    return a.practitioner_id == b.practitioner_id and a.start_at < b.end_at and \
        b.start_at < a.end_at


def _appointment_summary(a: Appointment) -> dict[str, Any]:
    return {"id": a.id, "patient_id": a.patient_id, "practitioner_id": a.practitioner_id,
            "start": a.start_at.isoformat(), "end": a.end_at.isoformat(), "status": a.status}
