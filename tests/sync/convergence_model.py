"""Random offline work on several workstations of one clinic, and the checks that follow it.

A run is a list of steps drawn by hypothesis (``steps()``): patient edits, bookings (often
overlapping), moves, cancellations, draft notes edited and signed, syncs of one workstation in
any order, and clock jumps. ``Run`` plays the steps through the services of real workstations
against the real server, remembering every value an edit wrote (each value is unique) and which
values a person saw and replaced. ``Run.settle()`` syncs until quiet; then ``Run.findings()``
says what went wrong: workstations that differ, edits that vanished without a conflict record,
duplicates, signed notes whose content no longer matches their signature.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select

from pms_desktop.domain.errors import PmsError
from pms_desktop.services.clinical_rows import note_hash
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import (
    Appointment,
    ClinicalNote,
    OutboxChange,
    Practitioner,
    SyncConflict,
)
from tests.sync.sync_server_helpers import diff_holdings, fhir_holdings

PATIENT_FIELDS = ("city", "phone", "family")
SECTIONS = ("subjective", "plan")
N_PATIENTS = 2  # few records, so that edits meet
# what each edited field is part of, as the merge decides it (the unit a conflict names)
UNITS = {"city": "address", "phone": "phone", "family": "name", "start": "time",
         "status": "status", "subjective": "subjective", "plan": "plan"}
SLOT = timedelta(minutes=15)  # bookings last 30 minutes: neighbouring slots overlap
DAY = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)  # a Tuesday, clear of today's date


def _ws() -> st.SearchStrategy[int]:
    return st.integers(0, 2)


def _work(i: int) -> st.SearchStrategy[tuple[Any, ...]]:
    """One thing done on workstation ``i``, offline."""
    patient, slot, some = st.integers(0, N_PATIENTS - 1), st.integers(0, 3), st.integers(0, 7)
    ws = st.just(i)
    return st.one_of(
        st.tuples(st.just("edit"), ws, patient, st.sampled_from(PATIENT_FIELDS)),
        st.tuples(st.just("edit"), ws, patient, st.sampled_from(PATIENT_FIELDS)),
        st.tuples(st.just("book"), ws, patient, slot),
        st.tuples(st.just("move"), ws, some, slot),
        st.tuples(st.just("cancel"), ws, some),
        st.tuples(st.just("check_in"), ws, some),
        st.tuples(st.just("note"), ws, patient),
        st.tuples(st.just("note_edit"), ws, some, st.sampled_from(SECTIONS)),
        st.tuples(st.just("sign"), ws, some),
        st.tuples(st.just("resolve"), ws, some, some),
        st.tuples(st.just("clock"), ws, st.integers(-12, 12)),
    )


def steps() -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Phases: each workstation does a little offline (so that their edits meet), then some of
    them sync in some order (one may sync twice, or not at all)."""
    phase = st.tuples(*(st.lists(_work(i), max_size=3) for i in range(3)),
                      st.lists(_ws(), min_size=1, max_size=4))
    return st.lists(phase, min_size=2, max_size=4).map(
        lambda phases: [step for *work, syncs in phases
                        for step in (*(s for ws in work for s in ws),
                                     *(("sync", i) for i in syncs))])


def skews() -> st.SearchStrategy[list[int]]:
    """Each workstation's clock offset in hours."""
    return st.lists(st.integers(-12, 12), min_size=3, max_size=3)


@dataclass
class Write:
    key: tuple[str, str, str]  # (table, record id, field)
    value: str
    ws: int


@dataclass
class Run:
    ws: list[Any]  # tests.sync.conftest.Workstation_
    skew_hours: list[int]
    patients: list[str] = field(default_factory=list)
    appointments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    seen: set[tuple[tuple[str, str, str], str]] = field(default_factory=set)  # replaced knowingly
    counter: int = 0
    syncs: int = 0
    skipped: int = 0
    resolved: int = 0

    def __post_init__(self) -> None:
        for i in range(len(self.ws)):
            self.set_clock(i, self.skew_hours[i])

    def set_clock(self, i: int, hours: int) -> None:
        offset = timedelta(hours=hours)
        self.ws[i].ctx.core.clock = lambda: datetime.now(UTC) + offset

    def token(self, kind: str) -> str:
        self.counter += 1
        n = self.counter
        return {"phone": f"087{n:07d}", "email": f"e{n}x@example.ie"}.get(kind, f"{kind[:4]}{n}Z")

    # -- setup -------------------------------------------------------------------------------

    def seed(self) -> None:
        a = self.ws[0]
        for i in range(N_PATIENTS):
            draft = PatientDraft(
                given=f"Given{i}",
                family=f"Family{i}",
                birth_date="1980-05-0" + str(i + 1),
                sex="female",
                city=f"Town{i}",
                phone=f"0861{i:06d}",
            )
            self.patients.append(a.ctx.patients.register_patient(a.actor, draft=draft).id)
        with a.ctx.db.sessions()() as s:
            self.practitioner = s.scalars(select(Practitioner.id)).first()
        for w in self.ws:
            w.sync.run_sync()

    # -- steps -------------------------------------------------------------------------------

    def play(self, steps: list[tuple[Any, ...]]) -> None:
        for step in steps:
            try:
                getattr(self, f"do_{step[0]}")(*step[1:])
            except PmsError:
                self.skipped += 1  # not possible there and then (record not held, signed ...)

    def do_sync(self, i: int) -> None:
        self.ws[i].sync.run_sync()
        self.syncs += 1

    def do_clock(self, i: int, hours: int) -> None:
        self.set_clock(i, hours)

    def do_edit(self, i: int, p: int, name: str) -> None:
        w, pid = self.ws[i], self.patients[p]
        detail = w.ctx.patients.get_patient(w.actor, patient_id=pid)
        value = self.token(name)
        old = getattr(detail.draft, name)
        w.ctx.patients.update_patient(
            w.actor, patient_id=pid, draft=replace(detail.draft, **{name: value})
        )
        self._wrote(("patient", pid, name), old, value, i)

    def do_book(self, i: int, p: int, slot: int) -> None:
        w = self.ws[i]
        info = w.ctx.scheduling.book(
            w.actor,
            patient_id=self.patients[p],
            practitioner_id=self.practitioner,
            start_at=DAY + slot * SLOT,
            duration_minutes=30,
        )
        self.appointments.append(info.id)

    def do_move(self, i: int, a: int, slot: int) -> None:
        if not self.appointments:
            return
        w, aid = self.ws[i], self.appointments[a % len(self.appointments)]
        old = self._appointment_start(i, aid)
        start = DAY + slot * SLOT
        w.ctx.scheduling.move(w.actor, appointment_id=aid, start_at=start, duration_minutes=30)
        self._wrote(("appointment", aid, "start"), old, start.isoformat(), i)

    def do_cancel(self, i: int, a: int) -> None:
        if not self.appointments:
            return
        w, aid = self.ws[i], self.appointments[a % len(self.appointments)]
        old = self._appointment_status(i, aid)
        w.ctx.scheduling.cancel(w.actor, appointment_id=aid, reason="Patient rang")
        self._wrote(("appointment", aid, "status"), old, "cancelled", i)

    def do_check_in(self, i: int, a: int) -> None:
        if not self.appointments:
            return
        w, aid = self.ws[i], self.appointments[a % len(self.appointments)]
        old = self._appointment_status(i, aid)
        w.ctx.scheduling.check_in(w.actor, appointment_id=aid)
        self._wrote(("appointment", aid, "status"), old, "arrived", i)

    def do_resolve(self, i: int, k: int, pick: int) -> None:
        """A person settles one open conflict (each kind's own choices)."""
        w = self.ws[i]
        open_ = w.sync.conflicts(w.actor)
        if not open_:
            return
        c = open_[k % len(open_)]
        choices = {
            "field": ("local", "remote"),
            "double-booking": ("keep-both", "cancel-local", "cancel-remote"),
        }
        options = choices.get(c.kind, ("dismiss",))
        who = w.as_user("drkelly") if c.resource_type == "Composition" else w.actor
        w.sync.resolve_conflict(who, conflict_id=c.id, choice=options[pick % len(options)])
        self.resolved += 1

    def do_note(self, i: int, p: int) -> None:
        w = self.ws[i]
        value = self.token("subjective")
        note = w.ctx.clinical.create_draft(
            w.as_user("drkelly"), patient_id=self.patients[p], subjective=value
        )
        self.notes.append(note.id)
        self._wrote(("clinical_note", note.id, "subjective"), None, value, i)

    def do_note_edit(self, i: int, n: int, section: str) -> None:
        if not self.notes:
            return
        w, nid = self.ws[i], self.notes[n % len(self.notes)]
        old = self._note_section(i, nid, section)
        value = self.token(section)
        w.ctx.clinical.save_draft(w.as_user("drkelly"), note_id=nid, **{section: value})
        self._wrote(("clinical_note", nid, section), old, value, i)

    def do_sign(self, i: int, n: int) -> None:
        if not self.notes:
            return
        w = self.ws[i]
        w.ctx.clinical.sign_note(w.as_user("drkelly"), note_id=self.notes[n % len(self.notes)])

    def _wrote(self, key: tuple[str, str, str], old: Any, value: str, i: int) -> None:
        if old not in (None, ""):
            self.seen.add((key, str(old)))
        self.writes.append(Write(key, value, i))

    def _appointment_start(self, i: int, aid: str) -> str | None:
        with self.ws[i].ctx.db.sessions()() as s:
            a = s.get(Appointment, aid)
            return a.start_at.isoformat() if a is not None else None

    def _appointment_status(self, i: int, aid: str) -> str | None:
        with self.ws[i].ctx.db.sessions()() as s:
            a = s.get(Appointment, aid)
            return a.status if a is not None else None

    def _note_section(self, i: int, nid: str, section: str) -> str | None:
        with self.ws[i].ctx.db.sessions()() as s:
            n = s.get(ClinicalNote, nid)
            return getattr(n, section) if n is not None else None

    # -- the end -----------------------------------------------------------------------------

    def settle(self, order: list[int], max_rounds: int = 6) -> int:
        """Sync every workstation in ``order`` until a whole round moves nothing."""
        for n in range(1, max_rounds + 1):
            moved = 0
            for i in order:
                r = self.ws[i].sync.run_sync()
                self.syncs += 1
                moved += r.pushed + r.pulled + r.repaired
            if moved == 0:
                return n
        raise AssertionError(f"still syncing changes after {max_rounds} rounds (ping-pong)")

    def final_value(self, key: tuple[str, str, str]) -> str | None:
        table, rid, name = key
        with self.ws[0].ctx.db.sessions()() as s:
            if table == "patient":
                detail = self.ws[0].ctx.patients.get_patient(self.ws[0].actor, patient_id=rid)
                return str(getattr(detail.draft, name))
            if table == "appointment":
                a = s.get(Appointment, rid)
                if a is None:
                    return None
                return a.start_at.isoformat() if name == "start" else a.status
            n = s.get(ClinicalNote, rid)
            return getattr(n, name) if n is not None else None

    def conflict_text(self) -> dict[tuple[str, str], str]:
        """Per (record id, merge unit): the values any workstation keeps in conflict records
        about that unit ("*": a record deleted elsewhere, kept whole). A double-booking is no
        record of an edit: its summaries do not count."""
        out: dict[tuple[str, str], str] = {}
        for w in self.ws:
            with w.ctx.db.sessions()() as s:
                for c in s.scalars(select(SyncConflict)):
                    if c.kind == "double-booking":
                        continue
                    unit = "*" if c.kind == "deleted" else str(c.field)
                    text = "\n".join((c.local_value or "", c.remote_value or ""))
                    out[(c.resource_id, unit)] = out.get((c.resource_id, unit), "") + text
        return out

    def races(self) -> int:
        """Conflict records made on any workstation (open, resolved or settled)."""
        n = 0
        for w in self.ws:
            with w.ctx.db.sessions()() as s:
                n += len(s.scalars(select(SyncConflict.id)).all())
        return n

    def lost(self) -> list[Write]:
        """Written values neither final, nor knowingly replaced, nor kept in a conflict."""
        kept = self.conflict_text()
        finals: dict[tuple[str, str, str], str | None] = {}
        out = []
        for wr in self.writes:
            if wr.key not in finals:
                finals[wr.key] = self.final_value(wr.key)
            if wr.value == finals[wr.key] or (wr.key, wr.value) in self.seen:
                continue
            _, rid, name = wr.key
            text = kept.get((rid, UNITS.get(name, name)), "") + kept.get((rid, "*"), "")
            if wr.value in text or json.dumps(wr.value)[1:-1] in text:
                continue
            out.append(wr)
        return out

    def findings(self) -> list[str]:
        out: list[str] = []
        held = [fhir_holdings(w.ctx) for w in self.ws]
        for i in range(1, len(held)):
            diff = diff_holdings(held[0], held[i])
            out += [f"{self.ws[0].name} vs {self.ws[i].name}: {d}" for d in diff[:10]]
        for w in self.ws:
            with w.ctx.db.sessions()() as s:
                stuck = Counter(
                    c.status for c in s.scalars(select(OutboxChange)) if c.status != "sent"
                )
                if stuck:
                    out.append(f"{w.name}: outbox not empty: {dict(stuck)}")
                for n in s.scalars(select(ClinicalNote).where(ClinicalNote.status == "signed")):
                    if n.content_hash != note_hash(n):
                        out.append(f"{w.name}: signed note {n.id} no longer matches its hash")
        out += [
            f"lost: {wr.key} = {wr.value!r} (written on {self.ws[wr.ws].name})"
            for wr in self.lost()
        ]
        ids = [k.split("/", 1)[1] for k in held[0]]
        dupes = [k for k, v in Counter(ids).items() if v > 1]
        out += [f"duplicate id {d}" for d in dupes]
        return out
