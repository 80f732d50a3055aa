"""What sync means for the people at the workstations, end to end against the real server:
conflicts a person decides (one per thing they decide, named in their words), signed notes that
stay as signed, double-bookings raised and settled once for the clinic, merges of duplicate
patients and deletions that reach every workstation, and clocks hours apart that decide nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import Practitioner
from tests.sync.sync_server_helpers import diff_holdings, fhir_holdings

pytestmark = pytest.mark.e2e

DRAFT = PatientDraft(
    given="Aoife",
    family="Byrne",
    birth_date="1984-03-02",
    sex="female",
    address_line="1 Main St",
    city="Cork",
    postal_code="T12 X1",
    phone="0871234567",
    email="aoife@example.ie",
)
DAY = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


def sync_all(*stations: Any, rounds: int = 2) -> None:
    for _ in range(rounds):
        for w in stations:
            w.sync.run_sync()


def converged(*stations: Any) -> list[str]:
    first = fhir_holdings(stations[0].ctx)
    return [d for w in stations[1:] for d in diff_holdings(first, fhir_holdings(w.ctx))]


def edit(w: Any, pid: str, **changes: str) -> None:
    detail = w.ctx.patients.get_patient(w.actor, patient_id=pid)
    w.ctx.patients.update_patient(w.actor, patient_id=pid, draft=replace(detail.draft, **changes))


def practitioner(w: Any) -> str:
    with w.ctx.db.sessions()() as s:
        return str(s.scalars(select(Practitioner.id)).first())


# -- conflicts a person decides ---------------------------------------------------------------


def test_conflicts_are_one_per_thing_a_person_decides_in_their_words(workstations: Any) -> None:
    """An address changed in different parts on two workstations is one "Address" conflict;
    phone and email are decided apart; an appointment moved on both is one "Time"; the values
    read as words; taking the other side's phone keeps the search by phone working; clocks
    twelve hours apart change nothing."""
    a, b = workstations()
    a.ctx.core.clock = lambda: datetime.now(UTC) + timedelta(hours=12)
    b.ctx.core.clock = lambda: datetime.now(UTC) - timedelta(hours=12)
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    visit = a.ctx.scheduling.book(a.actor, patient_id=pid, practitioner_id=practitioner(a),
                                  start_at=DAY, duration_minutes=30).id
    sync_all(a, b, rounds=1)
    edit(a, pid, city="Galway", postal_code="H91 Y2", phone="0861111111")
    edit(b, pid, address_line="2 Quay St", phone="0852222222", email="aoife.b@example.ie")
    a.ctx.scheduling.move(a.actor, appointment_id=visit, start_at=DAY + timedelta(hours=1))
    b.ctx.scheduling.move(b.actor, appointment_id=visit, start_at=DAY + timedelta(hours=2))
    a.sync.run_sync()
    b.sync.run_sync()

    conflicts = {c.label: c for c in b.ctx.sync.conflicts(b.actor)}
    assert sorted(conflicts) == ["Address", "Phone", "Time"]  # not line, city, digits, end ...
    words = {k: (c.local_text, c.remote_text) for k, c in conflicts.items()}
    assert words == {"Address": ("2 Quay St, Cork, T12 X1", "1 Main St, Galway, H91 Y2"),
                     "Phone": ("0852222222 (mobile)", "0861111111 (mobile)"),
                     "Time": ("Tue 4 Mar 2031 11:00–11:30", "Tue 4 Mar 2031 10:00–10:30")}
    phone = conflicts["Phone"]
    b.ctx.sync.resolve_conflict(b.actor, conflict_id=phone.id, choice="remote")
    sync_all(b, a)

    assert converged(a, b) == []
    held = a.ctx.patients.get_patient(a.actor, patient_id=pid).draft
    assert (held.phone, held.email) == ("0861111111", "aoife.b@example.ie")
    assert (held.address_line, held.city) == ("2 Quay St", "Cork")  # B's address, kept by B
    assert a.ctx.sync.conflicts(a.actor) == []
    for w in (a, b):
        assert [p.id for p in w.ctx.patients.search(w.actor, "0861111111")] == [pid]


def test_a_note_signed_on_one_workstation_stays_as_signed_everywhere(workstations: Any) -> None:
    """A draft edited on B while A signs it: the signed text and its signature win on every
    workstation; B's edit is kept in a conflict for a clinician to add as an addendum."""
    a, b = workstations()
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    doc_a, doc_b = a.as_user("drkelly"), b.as_user("drkelly")
    note = a.ctx.clinical.create_draft(doc_a, patient_id=pid, subjective="Cough for 3 days")
    sync_all(a, b, rounds=1)
    a.ctx.clinical.sign_note(doc_a, note_id=note.id)
    b.ctx.clinical.save_draft(doc_b, note_id=note.id, plan="Rest and fluids")
    b.sync.run_sync()  # B's draft edit reaches the server first
    a.sync.run_sync()
    b.sync.run_sync()

    assert converged(a, b) == []
    for w in (a, b):
        held = w.ctx.clinical.get_note(doc_a, patient_id=pid, note_id=note.id)
        assert held.status == "signed" and held.intact and not held.plan
    [kept] = [c for w in (a, b) for c in w.ctx.sync.conflicts(doc_a)]
    assert (kept.kind, kept.label) == ("signed", "Plan")
    assert "Rest and fluids" in (kept.local_text, kept.remote_text)


# -- double-bookings --------------------------------------------------------------------------


def test_a_double_booking_made_offline_is_raised_where_both_meet_and_settled_once(
    make_workstations: Any,
) -> None:
    """Two clashes booked on two offline workstations: each workstation that sees both raises
    it; a person settles one clash on B by cancelling B's booking and the other on A by keeping
    both; the choices sync and close the same clashes everywhere else."""
    a, b, c = make_workstations(3)
    p1 = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    p2 = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, given="Liam")).id
    sync_all(a, b, c, rounds=1)
    doc = practitioner(a)

    def book(w: Any, pid: str, start: datetime) -> str:
        return str(w.ctx.scheduling.book(w.actor, patient_id=pid, practitioner_id=doc,
                                         start_at=start, duration_minutes=30).id)

    a9, a11 = book(a, p1, DAY), book(a, p1, DAY + timedelta(hours=2))
    b9, b11 = book(b, p2, DAY + timedelta(minutes=15)), book(b, p2, DAY + timedelta(hours=2))
    sync_all(a, b, c, rounds=1)
    a.sync.run_sync()

    for w in (a, b, c):
        clashes = [x for x in w.ctx.sync.conflicts(w.actor) if x.kind == "double-booking"]
        assert len(clashes) == 2, w.name
        assert all(x.label == "Double booking" for x in clashes)
    at9 = next(x for x in b.ctx.sync.conflicts(b.actor) if b9 in (x.detail or ""))
    assert at9.local_value["id"] == b9  # B's own booking is the local side
    b.ctx.sync.resolve_conflict(b.actor, conflict_id=at9.id, choice="cancel-local")
    at11 = next(x for x in a.ctx.sync.conflicts(a.actor) if a11 in (x.detail or ""))
    a.ctx.sync.resolve_conflict(a.actor, conflict_id=at11.id, choice="keep-both")
    sync_all(b, a, c)

    assert converged(a, b, c) == []
    for w in (a, b, c):
        assert w.ctx.sync.conflicts(w.actor) == [], w.name
        status = {x: w.ctx.scheduling.appointment(w.actor, appointment_id=x)
                  for x in (a9, b9, a11, b11)}
        assert [status[x].status for x in (a9, b9, a11, b11)] == [
            "booked", "cancelled", "booked", "booked"]


# -- merges of duplicate patients and deletions ------------------------------------------------


def test_a_merge_of_duplicates_reaches_every_workstation_and_loses_no_edit(
    workstations: Any,
) -> None:
    """A merges a duplicate into the patient's record while B, offline, edits the duplicate's
    phone and books it an appointment: B ends with the merged record (the duplicate inactive,
    linked to the survivor, its records moved), B's booking is moved to the survivor, and B's
    phone number is kept in a conflict that can be applied to the survivor."""
    a, b = workstations()
    keep = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    dupe = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, phone="0870000000")).id
    doc = practitioner(a)
    old_visit = a.ctx.scheduling.book(a.actor, patient_id=dupe, practitioner_id=doc,
                                      start_at=DAY, duration_minutes=30).id
    note = a.ctx.clinical.create_draft(a.as_user("drkelly"), patient_id=dupe, subjective="Rash")
    sync_all(a, b, rounds=1)

    merge = a.ctx.patients.merge_patients(a.actor, survivor_id=keep, merged_id=dupe)
    edit(b, dupe, phone="0869999999")
    new_visit = b.ctx.scheduling.book(b.actor, patient_id=dupe, practitioner_id=doc,
                                      start_at=DAY + timedelta(hours=2), duration_minutes=30).id
    sync_all(a, b, a)

    assert converged(a, b) == []
    for w in (a, b):
        gone = w.ctx.patients.get_patient(w.actor, patient_id=dupe)
        assert (gone.active, gone.merged_into_id) == (False, keep), w.name
        assert [m.id for m in w.ctx.patients.merges(w.actor, patient_id=keep)] == [merge.id]
        for visit in (old_visit, new_visit):
            assert w.ctx.scheduling.appointment(w.actor, appointment_id=visit).patient_id == keep
        assert w.ctx.clinical.get_note(w.as_user("drkelly"), patient_id=keep,
                                       note_id=note.id).patient_id == keep
    [kept] = [c for w in (a, b) for c in w.ctx.sync.conflicts(w.actor)]
    assert (kept.kind, kept.label) == ("merged", "Phone")
    assert "0869999999" in str(kept.local_value)
    holder = next(w for w in (a, b) if w.ctx.sync.conflicts(w.actor))
    holder.ctx.sync.resolve_conflict(holder.actor, conflict_id=kept.id, choice="apply-to-survivor")
    sync_all(a, b)
    assert converged(a, b) == []
    for w in (a, b):
        assert w.ctx.patients.get_patient(w.actor, patient_id=keep).draft.phone == "0869999999"
        assert [p.id for p in w.ctx.patients.search(w.actor, "0869999999")] == [keep]


def _delete_on_server(server: Any, w: Any, resource_type: str, rid: str) -> None:
    """A deletion made at the central store (as a FHIR client of the clinic would)."""
    token = w.ctx.sync.keystore.get(w.ctx.sync._credential_name()).decode()
    answer = httpx.delete(f"{server.url}/fhir/{resource_type}/{rid}", timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 204), answer.text


def test_deletions_at_the_central_store_reach_every_workstation(
    workstations: Any, sync_server: Any
) -> None:
    """An appointment, a draft note and a patient alert deleted centrally are retired on every
    workstation (cancelled, entered in error, inactive: nothing clinical is hard-deleted); an
    edit B made to the note meanwhile is kept in a "deleted" conflict."""
    a, b = workstations()
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    visit = a.ctx.scheduling.book(a.actor, patient_id=pid, practitioner_id=practitioner(a),
                                  start_at=DAY, duration_minutes=30).id
    note = a.ctx.clinical.create_draft(a.as_user("drkelly"), patient_id=pid, subjective="Rash")
    alert = a.ctx.patients.add_alert(a.actor, patient_id=pid, text="Prefers mornings")
    sync_all(a, b, rounds=1)
    b.ctx.clinical.save_draft(b.as_user("drkelly"), note_id=note.id, plan="Cream twice daily")
    for rtype, rid in (("Appointment", visit), ("Composition", note.id), ("Flag", alert.id)):
        _delete_on_server(sync_server, a, rtype, rid)
    sync_all(a, b)

    assert converged(a, b) == []
    for w in (a, b):
        doc = w.as_user("drkelly")
        assert w.ctx.scheduling.appointment(w.actor, appointment_id=visit).status == "cancelled"
        held = w.ctx.clinical.get_note(doc, patient_id=pid, note_id=note.id)
        assert (held.status, held.plan) == ("entered-in-error", "")
        assert w.ctx.patients.get_patient(w.actor, patient_id=pid).alerts == ()
    [kept] = [c for w in (a, b) for c in w.ctx.sync.conflicts(w.as_user("drkelly"))]
    assert kept.kind == "deleted" and "Cream twice daily" in str(kept.local_value)


def _server_mrn(server: Any, w: Any, pid: str) -> list[str]:
    """The patient's MRNs as the central store holds them."""
    token = w.ctx.sync.keystore.get(w.ctx.sync._credential_name()).decode()
    answer = httpx.get(f"{server.url}/sync/resource/Patient/{pid}", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return [i["value"] for i in answer.json().get("identifier", [])
            if i["system"] == "urn:clinic:mrn"]


def _clash_offline(a: Any, b: Any) -> tuple[str, str]:
    """The same MRN registered on two offline workstations, then both synced."""
    pa = a.ctx.patients.register_patient(a.actor, draft=replace(DRAFT, mrn="MRN-77")).id
    pb = b.ctx.patients.register_patient(b.actor, draft=replace(DRAFT, given="Ava",
                                                                mrn="MRN-77")).id
    sync_all(a, b)
    return pa, pb


def test_the_same_mrn_registered_offline_keeps_both_patients_and_flags_them(
    workstations: Any, sync_server: Any
) -> None:
    """Both workstations hold both patients (each finds both by the MRN) and show a possible
    duplicate naming both; the other's patient is held here under a temporary MRN that never
    leaves (an edit of it here sends the real MRN; the exports agree). Giving one a new MRN on
    one workstation clears the flag on both, and the other gets its real MRN back."""
    a, b = workstations()
    pa, pb = _clash_offline(a, b)

    for w in (a, b):
        assert {p.id for p in w.ctx.patients.search(w.actor, "MRN-77")} == {pa, pb}, w.name
        [flag] = w.ctx.sync.conflicts(w.actor)
        assert flag.kind == "possible-duplicate", w.name
        assert {flag.local_value["patient_id"], flag.remote_value["patient_id"]} == {pa, pb}
    held_here = a.ctx.patients.get_patient(a.actor, patient_id=pb).draft.mrn
    assert held_here.startswith("MRN-77~dup-")
    edit(a, pb, city="Galway")  # edited where it is held under the temporary MRN
    sync_all(a, b)
    assert converged(a, b) == []
    assert b.ctx.patients.get_patient(b.actor, patient_id=pb).draft.city == "Galway"
    assert _server_mrn(sync_server, a, pb) == _server_mrn(sync_server, a, pa) == ["MRN-77"]

    edit(b, pb, mrn="MRN-78")  # two people: one of them gets a new MRN
    sync_all(b, a)

    assert converged(a, b) == []
    for w in (a, b):
        assert w.ctx.sync.conflicts(w.actor) == [], w.name
        assert [p.id for p in w.ctx.patients.search(w.actor, "MRN-78")] == [pb]
        assert w.ctx.patients.get_patient(w.actor, patient_id=pa).draft.mrn == "MRN-77"
    assert _server_mrn(sync_server, a, pb) == ["MRN-78"]


def test_a_possible_duplicate_merged_on_one_workstation_is_one_record_everywhere(
    workstations: Any, sync_server: Any
) -> None:
    """The same person registered twice offline with one MRN: merged on one workstation,
    every workstation ends with one active record holding the MRN once, and no flag."""
    a, b = workstations()
    pa, pb = _clash_offline(a, b)
    a.ctx.patients.merge_patients(a.actor, survivor_id=pa, merged_id=pb)
    sync_all(a, b)

    assert converged(a, b) == []
    for w in (a, b):
        assert w.ctx.sync.conflicts(w.actor) == [], w.name
        assert [p.id for p in w.ctx.patients.search(w.actor, "MRN-77")] == [pa], w.name
        assert w.ctx.patients.get_patient(w.actor, patient_id=pa).draft.mrn == "MRN-77"
    assert _server_mrn(sync_server, a, pa) == ["MRN-77"]


def test_a_clash_corrected_since_heals_at_the_next_sync(workstations: Any) -> None:
    """A change held back by a clash is tried again at the end of every pull: once the clash
    is corrected (here: the workstation's own fee renamed), the next sync holds it, without
    waiting for the drift repair (skipped for 10 minutes while changes flow)."""
    a, b = workstations()
    sync_all(a, b, rounds=1)  # both found equal to the server: the drift repair rests now
    fee = {"description": "Dressing", "price_minor": 1500, "tax_rate": Decimal("0")}
    mine = a.ctx.billing.save_fee_item(a.actor, code="ZZ9", **fee)
    theirs = b.ctx.billing.save_fee_item(b.actor, code="ZZ9", **fee)
    b.sync.run_sync()
    a.sync.run_sync()
    [held_back] = a.ctx.sync.conflicts(a.actor)
    assert (held_back.kind, held_back.resource_id) == ("unapplied", theirs.id)

    a.ctx.billing.save_fee_item(a.actor, code="ZZ8", fee_item_id=mine.id, **fee)
    a.sync.run_sync()

    assert a.ctx.sync.conflicts(a.actor) == []
    held = {f.id: f.code for f in a.ctx.billing.list_fee_items(a.actor)}
    assert (held.get(mine.id), held.get(theirs.id)) == ("ZZ8", "ZZ9")
    sync_all(b, a)
    assert converged(a, b) == []
