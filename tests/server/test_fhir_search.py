"""FHIR search: the supported parameters, paging with next links and totals, bad parameters."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import Tenant, patient


def _post(client: TestClient, tenant: Tenant, body: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ids(client: TestClient, tenant: Tenant, url: str) -> set[str]:
    response = client.get(url, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json()["entry"]}


@pytest.fixture
def people(client: TestClient, clinic_a: Tenant) -> dict[str, str]:
    return {
        "jo": _post(client, clinic_a, patient(
            "Smith", "Jo", birthDate="1980-05-01", gender="female",
            identifier=[{"system": "urn:mrn", "value": "A1"}],
            telecom=[{"system": "phone", "value": "+353 (1) 555-0101"}])),
        "zoe": _post(client, clinic_a, patient("Smíth-Byrne", "Zoë", birthDate="1990-01-31")),
        "al": _post(client, clinic_a, patient("Doyle", "Al", birthDate="1980-12-31")),
    }


def test_patient_parameters(client: TestClient, clinic_a: Tenant,
                            people: dict[str, str]) -> None:
    base = "/fhir/Patient"
    assert _ids(client, clinic_a, f"{base}?name=smi") == {people["jo"], people["zoe"]}
    assert _ids(client, clinic_a, f"{base}?family=SMITH-B") == {people["zoe"]}
    assert _ids(client, clinic_a, f"{base}?given=zoe") == {people["zoe"]}
    assert _ids(client, clinic_a, f"{base}?name:exact=doyle") == {people["al"]}
    assert _ids(client, clinic_a, f"{base}?name:contains=byr") == {people["zoe"]}
    assert _ids(client, clinic_a, f"{base}?birthdate=1980") == {people["jo"], people["al"]}
    assert _ids(client, clinic_a, f"{base}?birthdate=ge1980-06-01&birthdate=lt1991") == {
        people["al"], people["zoe"]}
    assert _ids(client, clinic_a, f"{base}?identifier=urn:mrn|A1") == {people["jo"]}
    assert _ids(client, clinic_a, f"{base}?identifier=A1") == {people["jo"]}
    assert _ids(client, clinic_a, f"{base}?identifier=other|A1") == set()
    assert _ids(client, clinic_a, f"{base}?phone=%2B3531555-0101") == {people["jo"]}
    assert _ids(client, clinic_a, f"{base}?name=doyle,smith") == {
        people["al"], people["jo"], people["zoe"]}
    assert _ids(client, clinic_a, f"{base}?_id={people['al']}") == {people["al"]}
    assert len(_ids(client, clinic_a, f"{base}?_lastUpdated=gt2000-01-01")) == 3
    assert _ids(client, clinic_a, f"{base}?_lastUpdated=lt2000-01-01") == set()


def test_deleted_resources_do_not_match(client: TestClient, clinic_a: Tenant,
                                        people: dict[str, str]) -> None:
    client.delete(f"/fhir/Patient/{people['jo']}", headers=clinic_a.headers)
    assert _ids(client, clinic_a, "/fhir/Patient?family=smith") == {people["zoe"]}


def test_clinical_parameters(client: TestClient, clinic_a: Tenant,
                             people: dict[str, str]) -> None:
    jo = people["jo"]
    appt = _post(client, clinic_a, {
        "resourceType": "Appointment", "status": "booked",
        "start": "2024-03-01T09:00:00Z", "end": "2024-03-01T09:15:00Z",
        "participant": [{"actor": {"reference": f"Patient/{jo}"}, "status": "accepted"},
                        {"actor": {"reference": "Practitioner/dr1"}, "status": "accepted"}]})
    obs = _post(client, clinic_a, {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{jo}"},
        "effectiveDateTime": "2024-03-01T09:05:00+01:00",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org",
                          "code": "/min"}})
    enc = _post(client, clinic_a, {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{jo}"},
        "period": {"start": "2024-03-01T09:00:00Z", "end": "2024-03-01T09:30:00Z"}})
    report = _post(client, clinic_a, {
        "resourceType": "DiagnosticReport", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": f"Patient/{jo}"}, "effectiveDateTime": "2024-03-02"})
    invoice = _post(client, clinic_a, {
        "resourceType": "Invoice", "status": "issued", "date": "2024-03-01",
        "subject": {"reference": f"Patient/{jo}"}})
    a = clinic_a
    assert _ids(client, a, f"/fhir/Appointment?patient={jo}") == {appt}
    assert _ids(client, a, "/fhir/Appointment?practitioner=Practitioner/dr1&status=booked") == {
        appt}
    assert _ids(client, a, "/fhir/Appointment?date=2024-03-01") == {appt}
    assert _ids(client, a, "/fhir/Appointment?date=2024-03-02") == set()
    assert _ids(client, a, f"/fhir/Observation?patient=Patient/{jo}&code=http://loinc.org|"
                           "8867-4&date=2024-03-01") == {obs}
    assert _ids(client, a, "/fhir/Observation?code=1234-5") == set()
    assert _ids(client, a, f"/fhir/Encounter?patient={jo}&date=ge2024-03-01") == {enc}
    assert _ids(client, a, f"/fhir/DiagnosticReport?patient={jo}&code=58410-2") == {report}
    assert _ids(client, a, f"/fhir/Invoice?patient={jo}&status=issued") == {invoice}


def test_paging_with_next_links_and_total(client: TestClient, clinic_a: Tenant) -> None:
    made = {_post(client, clinic_a, patient(f"Page{i:02d}")) for i in range(7)}
    url: str | None = "/fhir/Patient?name=page&_count=3"
    seen: list[str] = []
    pages = 0
    while url:
        bundle = client.get(url, headers=clinic_a.headers).json()
        assert bundle["total"] == 7 and bundle["type"] == "searchset"
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        pages += 1
    assert pages == 3 and len(seen) == 7 and set(seen) == made
    count_only = client.get("/fhir/Patient?_summary=count", headers=clinic_a.headers).json()
    assert count_only["total"] == 7 and count_only["entry"] == []


@pytest.mark.parametrize("query", [
    "nosuchparam=1", "birthdate=yesterday", "_count=-1", "_count=abc", "_sort=name",
    "name:fuzzy=x", "name=", "_lastUpdated=2024-13-01"])
def test_bad_search_parameters_are_400(client: TestClient, clinic_a: Tenant,
                                       query: str) -> None:
    response = client.get(f"/fhir/Patient?{query}", headers=clinic_a.headers)
    assert response.status_code == 400, query
    assert response.json()["resourceType"] == "OperationOutcome"
