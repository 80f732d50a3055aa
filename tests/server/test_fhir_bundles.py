"""Transaction and batch Bundles: urn:uuid references resolved, transactions all or nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.server_helpers import Tenant, patient

PATIENT_URN = "urn:uuid:3f1c2a6e-8d7b-4c1a-9e55-0f6a2b7c9d10"


def _bundle(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _encounter_for(reference: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "status": "planned",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": "AMB"},
            "subject": {"reference": reference}}


def _count(client: TestClient, tenant: Tenant, rtype: str) -> int:
    return int(client.get(f"/fhir/{rtype}?_summary=count", headers=tenant.headers)
               .json()["total"])


def test_transaction_resolves_urn_uuid_references(client: TestClient,
                                                  clinic_a: Tenant) -> None:
    bundle = _bundle("transaction", [
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
         "resource": _encounter_for(PATIENT_URN),
         "request": {"method": "POST", "url": "Encounter"}},
        {"fullUrl": PATIENT_URN, "resource": patient(),
         "request": {"method": "POST", "url": "Patient"}},
    ])
    response = client.post("/fhir", json=bundle, headers=clinic_a.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response"
    encounter, made = (e for e in body["entry"])
    assert made["response"]["status"].startswith("201")
    patient_id = made["resource"]["id"]
    assert encounter["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
    assert made["response"]["location"] == f"Patient/{patient_id}/_history/1"
    stored = client.get(f"/fhir/Encounter/{encounter['resource']['id']}",
                        headers=clinic_a.headers).json()
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"


def test_one_bad_entry_rolls_back_the_transaction(client: TestClient, clinic_a: Tenant) -> None:
    existing = client.post("/fhir/Patient", json=patient(), headers=clinic_a.headers).json()
    bundle = _bundle("transaction", [
        {"resource": patient("Good"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": patient("Changed", id=existing["id"]),
         "request": {"method": "PUT", "url": f"Patient/{existing['id']}"}},
        {"request": {"method": "DELETE", "url": f"Patient/{existing['id']}"}},
        {"resource": {"resourceType": "Patient", "birthDate": "not-a-date"},
         "request": {"method": "POST", "url": "Patient"}},
    ])
    response = client.post("/fhir", json=bundle, headers=clinic_a.headers)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "entry[3]" in outcome["issue"][0]["diagnostics"]
    assert _count(client, clinic_a, "Patient") == 1
    current = client.get(f"/fhir/Patient/{existing['id']}", headers=clinic_a.headers).json()
    assert current["meta"]["versionId"] == "1" and current["name"][0]["family"] == "Smith"


def test_stale_if_match_in_transaction_rolls_back(client: TestClient, clinic_a: Tenant) -> None:
    existing = client.post("/fhir/Patient", json=patient(), headers=clinic_a.headers).json()
    bundle = _bundle("transaction", [
        {"resource": patient("New"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": patient("X", id=existing["id"]),
         "request": {"method": "PUT", "url": f"Patient/{existing['id']}", "ifMatch": 'W/"9"'}},
    ])
    response = client.post("/fhir", json=bundle, headers=clinic_a.headers)
    assert response.status_code == 412
    assert _count(client, clinic_a, "Patient") == 1


def test_batch_reports_each_entry(client: TestClient, clinic_a: Tenant) -> None:
    bundle = _bundle("batch", [
        {"resource": patient("Ok"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": 7},
         "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/unknown"}},
        {"request": {"method": "GET", "url": "Patient?name=ok"}},
    ])
    response = client.post("/fhir", json=bundle, headers=clinic_a.headers)
    assert response.status_code == 200
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1] == "400" and statuses[2] == "404"
    assert response.json()["entry"][3]["resource"]["total"] == 1
    assert _count(client, clinic_a, "Patient") == 1


def test_bundle_shape_errors(client: TestClient, clinic_a: Tenant) -> None:
    for body in (patient(), _bundle("collection", []), {"resourceType": "Bundle",
                                                        "type": "batch", "entry": "x"},
                 _bundle("transaction", [{"request": {"method": "PATCH", "url": "Patient"}}])):
        response = client.post("/fhir", json=body, headers=clinic_a.headers)
        assert response.status_code == 400, body
