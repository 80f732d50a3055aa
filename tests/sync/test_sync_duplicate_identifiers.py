"""A national identifier (PPSN) registered for two patients on two offline workstations, end to
end against the real server: handled like the same MRN (tests/sync/test_sync_semantics.py).
Nothing is lost, both records are kept on both workstations, a "Possible duplicate" names the
PPSN; the same person is merged, or, two people, a person corrects the wrong PPSN (a person's
real number: nothing renumbers it for them) and the flag closes on both workstations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.sync.test_sync_semantics import DRAFT, converged, edit, sync_all

pytestmark = pytest.mark.e2e
PPSN = "1234567T"


def _server_ppsn(server: Any, w: Any, pid: str) -> list[str]:
    """The patient's PPSNs as the central store holds them."""
    token = w.ctx.sync.keystore.get(w.ctx.sync._credential_name()).decode()
    answer = httpx.get(f"{server.url}/sync/resource/Patient/{pid}", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return [i["value"] for i in answer.json().get("identifier", [])
            if i["system"] == "urn:ie:ppsn"]


def _clash_offline(a: Any, b: Any) -> tuple[str, str]:
    """The same PPSN registered on two offline workstations (different MRNs), then synced."""
    pa = a.ctx.patients.register_patient(
        a.actor, draft=replace(DRAFT, mrn="A-1", national_id=PPSN)).id
    pb = b.ctx.patients.register_patient(
        b.actor, draft=replace(DRAFT, given="Ava", mrn="B-1", national_id=PPSN)).id
    sync_all(a, b)
    return pa, pb


def test_the_same_ppsn_registered_offline_keeps_both_patients_and_names_the_ppsn(
    workstations: Any, sync_server: Any
) -> None:
    """Both workstations hold both patients with everything they were registered with, and
    show one possible duplicate naming the PPSN and both patients; nothing is held back. The
    central store keeps the real PPSN on both (the mark never leaves)."""
    a, b = workstations()
    pa, pb = _clash_offline(a, b)

    for w in (a, b):
        [flag] = w.ctx.sync.conflicts(w.actor)
        assert flag.kind == "possible-duplicate", (w.name, flag.kind, flag.detail)
        assert {flag.local_value["patient_id"], flag.remote_value["patient_id"]} == {pa, pb}
        assert (flag.remote_value["label"], flag.remote_value["value"]) == ("PPSN", PPSN)
        for pid, given, mrn in ((pa, "Aoife", "A-1"), (pb, "Ava", "B-1")):
            held = w.ctx.patients.get_patient(w.actor, patient_id=pid).draft
            assert (held.given, held.mrn, held.city) == (given, mrn, "Cork"), w.name
            assert held.national_id.startswith(PPSN), w.name
        assert {p.id for p in w.ctx.patients.search(w.actor, "Byrne")} == {pa, pb}, w.name
    assert _server_ppsn(sync_server, a, pa) == _server_ppsn(sync_server, a, pb) == [PPSN]
    edit(a, pb, city="Galway")  # edited where it is held under the temporary PPSN
    sync_all(a, b)
    assert converged(a, b) == []
    assert _server_ppsn(sync_server, a, pb) == [PPSN]


def test_two_people_one_ppsn_corrected_clears_the_flag_everywhere(
    workstations: Any, sync_server: Any
) -> None:
    """The PPSN typed wrong for the patient registered here (B's, held on A under a temporary
    value) is corrected on A: the flag closes on both workstations at the next syncs, and the
    other patient keeps the real PPSN everywhere."""
    a, b = workstations()
    pa, pb = _clash_offline(a, b)

    edit(a, pa, national_id="7654321W")  # A's own patient had the wrong number
    sync_all(a, b)

    assert converged(a, b) == []
    for w in (a, b):
        assert w.ctx.sync.conflicts(w.actor) == [], w.name
        assert w.ctx.patients.get_patient(w.actor, patient_id=pa).draft.national_id == "7654321W"
        assert w.ctx.patients.get_patient(w.actor, patient_id=pb).draft.national_id == PPSN
    assert _server_ppsn(sync_server, a, pa) == ["7654321W"]
    assert _server_ppsn(sync_server, a, pb) == [PPSN]


def test_the_same_person_with_one_ppsn_merged_is_one_record_everywhere(
    workstations: Any, sync_server: Any
) -> None:
    """The same person registered twice offline: merged on one workstation, every workstation
    ends with one active record holding the PPSN once, and no flag."""
    a, b = workstations()
    pa, pb = _clash_offline(a, b)
    b.ctx.patients.merge_patients(b.actor, survivor_id=pb, merged_id=pa)
    sync_all(b, a)

    assert converged(a, b) == []
    for w in (a, b):
        assert w.ctx.sync.conflicts(w.actor) == [], w.name
        kept = w.ctx.patients.get_patient(w.actor, patient_id=pb)
        assert (kept.active, kept.draft.national_id) == (True, PPSN), w.name
        assert w.ctx.patients.get_patient(w.actor, patient_id=pa).merged_into_id == pb
    assert _server_ppsn(sync_server, a, pb) == [PPSN]
