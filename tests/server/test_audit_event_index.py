"""An uploaded access-log entry's AuditEvent is indexed by a reader of its known shape
(``search_params.audit_event_rows``) instead of the generic walk over every parameter's paths:
the rows must be the generic ones, and a search by every AuditEvent parameter the API serves
must find what it found before."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_server.audit.audit_event import to_audit_event
from sync_server.fhir.search_params import PARAMS, audit_event_rows, extract
from tests.server.server_helpers import Tenant
from tests.server.test_audit_chain import GENESIS, sealed

_ids = st.one_of(st.sampled_from(["p-1", "a.2", "x" * 64, "", "no/slash", "bad id"]),
                 st.text(max_size=8))
_types = st.sampled_from(["Patient", "Appointment", "Encounter", "patient", "Nope", ""])
_moments = st.one_of(st.sampled_from([
    "2024-05-01T10:00:01Z", "2024-05-01T10:00:01.123+02:00", "2024-05-01", "2024",
    "2024-13-01", "yesterday", "", "2024-05-01T10:00"]), st.text(max_size=12))
_values = st.one_of(st.none(), st.text(max_size=10), st.integers(), st.booleans())


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {"seq": draw(st.integers(0, 2**40)), "hash": "a" * 64,
                             "prev_hash": "b" * 64}
    for key, strategy in (("at", _moments), ("time", _moments), ("user", _values),
                          ("role", _values), ("action", _values), ("event", _values),
                          ("patient_id", _ids), ("patient", _ids), ("entity_type", _types),
                          ("entity_id", _ids), ("resource_type", _types),
                          ("resource_id", _ids), ("break_glass", _values)):
        if draw(st.booleans()):
            entry[key] = draw(strategy)
    return entry


@settings(max_examples=400, deadline=None)
@given(entry=entries(), device=st.one_of(st.uuids().map(str), st.text(max_size=6)),
       received=_moments)
def test_the_known_shape_reader_makes_the_generic_rows(entry: dict[str, Any], device: str,
                                                       received: str) -> None:
    event = to_audit_event(entry, device, received)
    assert audit_event_rows(event) == extract(event)


def test_an_agent_known_by_reference_goes_to_the_generic_walk() -> None:
    event = to_audit_event({"seq": 1, "hash": "a" * 64, "prev_hash": "b" * 64}, "d", "2024")
    event["agent"][0]["who"] = {"reference": "Practitioner/pr-1"}
    rows = audit_event_rows(event)
    assert rows == extract(event)
    assert ("agent", "Practitioner/pr-1") in [(r.param, r.text) for r in rows]


def _upload(client: TestClient, tenant: Tenant) -> None:
    prev, body = GENESIS, []
    for seq, (at, action, patient, entity) in enumerate([
            ("2024-05-01T10:00:00Z", "read", "p-1", ("Appointment", "ap-1")),
            ("2024-05-02T09:30:00+02:00", "update", "p-2", ("Patient", "p-2")),
            ("2024-06-10", "sync.apply", None, ("Encounter", "en-1"))], start=1):
        fields: dict[str, Any] = {"seq": seq, "prev_hash": prev, "at": at, "user": "rita",
                                  "action": action, "entity_type": entity[0],
                                  "entity_id": entity[1]}
        if patient:
            fields["patient_id"] = patient
        entry = sealed(fields)
        prev = entry["hash"]
        body.append(entry)
    response = client.post("/sync/audit", json={"entries": body}, headers=tenant.headers)
    assert response.status_code == 200, response.text


def test_every_audit_event_parameter_finds_the_uploaded_events(
        client: TestClient, clinic_a: Tenant) -> None:
    _upload(client, clinic_a)
    device = f"Device/{clinic_a.device_id}"
    expected: dict[str, list[tuple[str, set[str]]]] = {
        "date": [("2024-05-01", {"read"}), ("ge2024-05-02", {"update", "sync.apply"}),
                 ("lt2024-05-02T08:00:00Z", {"read", "update"}), ("2025", set())],
        "patient": [("p-1", {"read"}), ("Patient/p-2", {"update"}), ("p-3", set())],
        "entity": [("Appointment/ap-1", {"read"}), ("Encounter/en-1", {"sync.apply"}),
                   ("p-2", {"update"}), ("Patient/p-1", {"read"})],
        "agent": [("Practitioner/rita", set())],  # the workstation names a user, no reference
        "source": [(device, {"read", "update", "sync.apply"}), ("Device/other", set())],
        "action": [("R", {"read"}), ("U", {"update"}), ("E", {"sync.apply"}), ("D", set())],
        "type": [("rest", {"read", "update", "sync.apply"}),
                 ("http://terminology.hl7.org/CodeSystem/audit-event-type|rest",
                  {"read", "update", "sync.apply"}),
                 ("http://other|rest", set())],
    }
    assert set(expected) == set(PARAMS["AuditEvent"])  # every parameter the API serves
    for param, cases in expected.items():
        for value, actions in cases:
            response = client.get("/fhir/AuditEvent", params={param: value, "_count": 50},
                                  headers=clinic_a.headers)
            assert response.status_code == 200, response.text
            found = set()
            for item in response.json().get("entry", []):
                detail = [d["valueString"] for e in item["resource"]["entity"]
                          for d in e.get("detail", [])]
                found |= {str(json.loads(text).get("action")) for text in detail}
            assert found == actions, (param, value)
