"""A push records the server's answers a few at a time, each few in a short transaction of
their own: recording stopped partway (a crash, a full disk) keeps the answers recorded before
it, and the next sync resends only the rest, which the server answers as the first time."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import OutboxChange, Patient
from pms_desktop.sync import engine
from pms_desktop.sync.transport import SyncClient

pytestmark = pytest.mark.e2e

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork", phone="0871234567")


class Stopped(Exception):
    pass


def test_answers_recorded_before_a_stop_are_kept_and_only_the_rest_resent(
        workstations: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = workstations()
    a.sync.run_sync()
    made = [a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, given=f"P{i}")).id
            for i in range(10)]
    monkeypatch.setattr(engine, "PUSH_BATCH", 4)
    monkeypatch.setattr(engine, "ACK_CHUNK", 2)
    recorded, sent = [0], []
    original_record, original_push = engine.SyncEngine._applied_together, SyncClient.push

    def record(self: Any, *args: Any) -> None:
        original_record(self, *args)
        recorded[0] += 1
        if recorded[0] == 4:  # the second batch's second few, written: their transaction stops
            raise Stopped

    def push(self: SyncClient, changes: Any) -> Any:
        sent.extend(json.loads(c) if isinstance(c, str) else c for c in changes)
        return original_push(self, changes)

    monkeypatch.setattr(engine.SyncEngine, "_applied_together", record)
    monkeypatch.setattr(SyncClient, "push", push)
    with pytest.raises(Stopped):
        a.sync.run_sync()

    with a.ctx.db.sessions()() as s:
        status = dict(s.execute(select(OutboxChange.resource_id, OutboxChange.status)
                                .where(OutboxChange.resource_id.in_(made))).all())
        versions = dict(s.execute(select(Patient.id, Patient.server_version)
                                  .where(Patient.id.in_(made))).all())
    kept = [pid for pid in made if status[pid] == OutboxStatus.SENT]
    assert len(kept) == 6  # the first batch, and the first few of the second
    assert all(versions[pid] == 1 for pid in kept)
    assert all(versions[pid] is None for pid in made if pid not in kept)

    monkeypatch.setattr(engine.SyncEngine, "_applied_together", original_record)
    sent.clear()
    result = a.sync.run_sync()
    b.sync.run_sync()

    assert sorted(c["resource_id"] for c in sent if c["resource_id"] in made) \
        == sorted(set(made) - set(kept))  # only what was not recorded goes again
    assert result.pushed == 4
    with a.ctx.db.sessions()() as s:
        assert set(s.scalars(select(Patient.server_version).where(Patient.id.in_(made)))) == {1}
        assert s.scalars(select(OutboxChange).where(
            OutboxChange.status == OutboxStatus.PENDING)).all() == []
    assert {p.id for p in b.ctx.patients.search(b.actor, "Byrne")} == set(made)  # once each


def test_plain_edits_answered_with_a_conflict_are_the_base_of_the_next_merge(
        workstations: Any) -> None:
    """One few of answers holds a conflict (merged change by change) and plain edits (recorded
    together): both are recorded, and the version a plain edit made is the base of a later
    three-way merge of that record, so edits of other fields on each side are both kept and
    nothing is asked of a person."""
    a, b = workstations()
    one, two = (a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, given=g)).id
                for g in ("One", "Two"))
    a.sync.run_sync()
    b.sync.run_sync()
    edit(b, one, phone="0851111111")
    b.sync.run_sync()
    edit(a, one, phone="0862222222")
    edit(a, two, city="Galway")
    a.sync.run_sync()  # one: a conflict; two: applied, in the same few

    assert [c.label for c in a.ctx.sync.conflicts(a.actor)] == ["Phone"]
    with a.ctx.db.sessions()() as s:
        assert s.scalar(select(Patient.server_version).where(Patient.id == two)) == 2
        assert set(s.scalars(select(OutboxChange.status).where(
            OutboxChange.resource_id == two))) == {OutboxStatus.SENT}
    b.sync.run_sync()
    edit(b, two, email="two@example.ie")
    b.sync.run_sync()
    edit(a, two, postal_code="H91 Y2")
    a.sync.run_sync()  # answered with B's version: merged against the base of version 2
    b.sync.run_sync()

    for w in (a, b):
        held = w.ctx.patients.get_patient(w.actor, patient_id=two).draft
        assert (held.city, held.email, held.postal_code) == ("Galway", "two@example.ie",
                                                             "H91 Y2")
    assert [c.label for c in a.ctx.sync.conflicts(a.actor)] == ["Phone"]
    assert b.ctx.sync.conflicts(b.actor) == []


def edit(w: Any, pid: str, **changes: str) -> None:
    detail = w.ctx.patients.get_patient(w.actor, patient_id=pid)
    w.ctx.patients.update_patient(w.actor, patient_id=pid, draft=replace(detail.draft, **changes))


def test_an_answer_given_twice_is_recorded_once(workstations: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A push answer listing a change twice (a faulty server or proxy) records it once, as
    the first answer says: the sync goes on, one merge base per record, nothing resent."""
    a, b = workstations()
    a.sync.run_sync()
    made = [a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, given=f"D{i}")).id
            for i in range(3)]
    original_push = SyncClient.push

    def push(self: SyncClient, changes: Any) -> Any:
        answers = original_push(self, changes)
        return [*answers, *answers]

    monkeypatch.setattr(SyncClient, "push", push)
    a.sync.run_sync()
    monkeypatch.setattr(SyncClient, "push", original_push)

    with a.ctx.db.sessions()() as s:
        assert all(s.scalar(select(Patient.server_version).where(Patient.id == pid)) == 1
                   for pid in made)
        assert s.scalars(select(OutboxChange).where(
            OutboxChange.status == OutboxStatus.PENDING)).all() == []
    b.sync.run_sync()
    assert {p.id for p in b.ctx.patients.search(b.actor, "Byrne")} == set(made)
