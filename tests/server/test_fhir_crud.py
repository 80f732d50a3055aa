"""FHIR REST: versioning, If-Match, delete then 410, history, conditional create, headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.server_helpers import Tenant, patient

FHIR_JSON = "application/fhir+json"


def _create(client: TestClient, tenant: Tenant, body: dict | None = None) -> dict:
    response = client.post("/fhir/Patient", json=body or patient(), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_metadata_is_an_r4_capability_statement(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {"name", "birthdate", "identifier", "phone"} <= {
        p["name"] for p in types["Patient"]["searchParam"]}
    assert "create" not in {i["code"] for i in types["AuditEvent"]["interaction"]}


def test_create_sets_version_etag_and_location(client: TestClient, clinic_a: Tenant) -> None:
    response = client.post("/fhir/Patient", json=patient(id="ignored"), headers=clinic_a.headers)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "ignored"
    assert body["meta"]["versionId"] == "1" and body["meta"]["lastUpdated"].endswith("Z")
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert response.headers["content-type"].startswith(FHIR_JSON)


def test_update_increments_version_and_vread_keeps_old(client: TestClient,
                                                        clinic_a: Tenant) -> None:
    created = _create(client, clinic_a)
    pid = created["id"]
    updated = client.put(f"/fhir/Patient/{pid}", json=patient("Jones", id=pid),
                         headers={**clinic_a.headers, "If-Match": 'W/"1"'})
    assert updated.status_code == 200
    assert updated.json()["meta"]["versionId"] == "2"
    assert updated.headers["etag"] == 'W/"2"'
    old = client.get(f"/fhir/Patient/{pid}/_history/1", headers=clinic_a.headers)
    assert old.json()["name"][0]["family"] == "Smith"
    current = client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers)
    assert current.json()["name"][0]["family"] == "Jones"
    assert current.headers["etag"] == 'W/"2"'


def test_stale_if_match_is_412(client: TestClient, clinic_a: Tenant) -> None:
    pid = _create(client, clinic_a)["id"]
    ok = client.put(f"/fhir/Patient/{pid}", json=patient("A", id=pid),
                    headers={**clinic_a.headers, "If-Match": 'W/"1"'})
    assert ok.status_code == 200
    stale = client.put(f"/fhir/Patient/{pid}", json=patient("B", id=pid),
                       headers={**clinic_a.headers, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers).json()["name"][0][
        "family"] == "A"


def test_put_creates_with_client_id(client: TestClient, clinic_a: Tenant) -> None:
    response = client.put("/fhir/Patient/p-123", json=patient(id="p-123"),
                          headers=clinic_a.headers)
    assert response.status_code == 201
    assert response.headers["location"].endswith("/Patient/p-123/_history/1")


def test_put_with_other_id_in_body_is_400(client: TestClient, clinic_a: Tenant) -> None:
    response = client.put("/fhir/Patient/p-1", json=patient(id="p-2"), headers=clinic_a.headers)
    assert response.status_code == 400


def test_delete_then_read_is_410_and_history_keeps_all(client: TestClient,
                                                       clinic_a: Tenant) -> None:
    pid = _create(client, clinic_a)["id"]
    client.put(f"/fhir/Patient/{pid}", json=patient("B", id=pid), headers=clinic_a.headers)
    deleted = client.delete(f"/fhir/Patient/{pid}", headers=clinic_a.headers)
    assert deleted.status_code == 204
    gone = client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers)
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    history = client.get(f"/fhir/Patient/{pid}/_history", headers=clinic_a.headers).json()
    assert history["type"] == "history" and history["total"] == 3
    statuses = [e["response"]["etag"] for e in history["entry"]]
    assert statuses == ['W/"3"', 'W/"2"', 'W/"1"']  # newest first
    assert history["entry"][0]["request"]["method"] == "DELETE"
    assert client.delete(f"/fhir/Patient/{pid}", headers=clinic_a.headers).status_code == 204
    assert client.get(f"/fhir/Patient/{pid}/_history/3",
                      headers=clinic_a.headers).status_code == 410
    revived = client.put(f"/fhir/Patient/{pid}", json=patient(id=pid), headers=clinic_a.headers)
    assert revived.status_code == 200 and revived.json()["meta"]["versionId"] == "4"


def test_type_history_newest_first_with_paging(client: TestClient, clinic_a: Tenant) -> None:
    ids = [_create(client, clinic_a, patient(f"F{i}"))["id"] for i in range(5)]
    page = client.get("/fhir/Patient/_history?_count=2", headers=clinic_a.headers).json()
    assert page["total"] == 5
    assert [e["resource"]["id"] for e in page["entry"]] == ids[::-1][:2]
    next_url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    second = client.get(next_url, headers=clinic_a.headers).json()
    assert [e["resource"]["id"] for e in second["entry"]] == ids[::-1][2:4]
    everything = client.get("/fhir/_history", headers=clinic_a.headers).json()
    assert everything["total"] == 5


def test_conditional_create(client: TestClient, clinic_a: Tenant) -> None:
    body = patient(identifier=[{"system": "urn:mrn", "value": "42"}])
    headers = {**clinic_a.headers, "If-None-Exist": "identifier=urn:mrn|42"}
    first = client.post("/fhir/Patient", json=body, headers=headers)
    assert first.status_code == 201
    again = client.post("/fhir/Patient", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    client.post("/fhir/Patient", json=body, headers=clinic_a.headers)
    ambiguous = client.post("/fhir/Patient", json=body, headers=headers)
    assert ambiguous.status_code == 412


def test_unknown_ids_and_types(client: TestClient, clinic_a: Tenant) -> None:
    assert client.get("/fhir/Patient/nope", headers=clinic_a.headers).status_code == 404
    assert client.get("/fhir/Patient/nope/_history",
                      headers=clinic_a.headers).status_code == 404
    assert client.get("/fhir/Patient/nope/_history/x",
                      headers=clinic_a.headers).status_code == 404
    unknown = client.get("/fhir/Spaceship/1", headers=clinic_a.headers)
    assert unknown.status_code == 404
    assert unknown.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Patient/bad$id", headers=clinic_a.headers).status_code == 400


def test_audit_event_is_read_only(client: TestClient, clinic_a: Tenant) -> None:
    event = {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded":
             "2024-01-01T00:00:00Z", "agent": [{"requestor": True}],
             "source": {"observer": {"display": "x"}}}
    response = client.post("/fhir/AuditEvent", json=event, headers=clinic_a.headers)
    assert response.status_code == 403


def test_unauthenticated_is_401_with_challenge(client: TestClient) -> None:
    response = client.get("/fhir/Patient")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = client.get("/fhir/Patient", headers={"Authorization": "Bearer pmsd_nope"})
    assert wrong.status_code == 401


def test_unsupported_method_is_405_outcome(client: TestClient, clinic_a: Tenant) -> None:
    response = client.patch("/fhir/Patient/x", json={}, headers=clinic_a.headers)
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
