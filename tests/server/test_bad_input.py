"""Bad input gets a clear 4xx OperationOutcome: malformed JSON, wrong resourceType, invalid
resources, oversized bodies, wrong media types; health and readiness answer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.store.db import Database
from tests.server.server_helpers import Tenant, make_settings, patient

WRITES = [("POST", "/fhir/Patient"), ("PUT", "/fhir/Patient/p1"), ("POST", "/fhir"),
          ("POST", "/sync/push"), ("POST", "/sync/audit"), ("POST", "/sync/enrol")]


def _outcome(response: object, status: int) -> dict:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"]
    return dict(body)


@pytest.mark.parametrize(("method", "url"), WRITES)
def test_malformed_json_is_400(client: TestClient, clinic_a: Tenant, method: str,
                               url: str) -> None:
    for raw in (b'{"resourceType": "Patient",', b"\xff\xfe", b"", b"[1, 2"):
        response = client.request(method, url, content=raw, headers={
            **clinic_a.headers, "Content-Type": "application/fhir+json"})
        _outcome(response, 400)


def test_wrong_resource_type_is_400(client: TestClient, clinic_a: Tenant) -> None:
    body = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    outcome = _outcome(client.post("/fhir/Patient", json=body, headers=clinic_a.headers), 400)
    assert outcome["issue"][0]["expression"] == ["resourceType"]
    _outcome(client.put("/fhir/Patient/p1", json=body, headers=clinic_a.headers), 400)
    _outcome(client.post("/fhir/Patient", json={"name": []}, headers=clinic_a.headers), 400)
    _outcome(client.post("/fhir/Patient", json=[patient()], headers=clinic_a.headers), 400)


@pytest.mark.parametrize("body", [
    {"resourceType": "Patient", "birthDate": "1st May"},
    {"resourceType": "Patient", "gender": "sometimes"},
    {"resourceType": "Patient", "name": "Jo"},
    {"resourceType": "Patient", "unknownElement": 1},
    {"resourceType": "Observation"},
])
def test_invalid_resource_is_400(client: TestClient, clinic_a: Tenant, body: dict) -> None:
    url = f"/fhir/{body['resourceType']}"
    outcome = _outcome(client.post(url, json=body, headers=clinic_a.headers), 400)
    assert outcome["issue"][0]["diagnostics"].startswith("invalid")


def test_oversized_body_is_413(database_url: str, shared_database: Database | None) -> None:
    settings = make_settings(database_url, max_body_bytes=2000)
    with TestClient(create_app(settings, database=shared_database)) as client:
        big = patient(text={"status": "generated", "div": "<div>" + "x" * 5000 + "</div>"})
        response = client.post("/fhir/Patient", json=big)
        _outcome(response, 413)

        def chunks():  # no Content-Length: the limit applies while streaming
            for _ in range(10):
                yield b" " * 500

        streamed = client.post("/sync/enrol", content=chunks(),
                               headers={"Content-Type": "application/json"})
        _outcome(streamed, 413)


def test_wrong_media_type_is_415(client: TestClient, clinic_a: Tenant) -> None:
    response = client.post("/fhir/Patient", content=b"<Patient/>", headers={
        **clinic_a.headers, "Content-Type": "application/fhir+xml"})
    _outcome(response, 415)


def test_unknown_route_is_404_outcome(client: TestClient) -> None:
    _outcome(client.get("/nowhere"), 404)


def test_too_many_changes_is_413(client: TestClient, clinic_a: Tenant) -> None:
    change = {"change_id": "8d3a3a4e-54a5-4a53-9d8e-9a2c1e7f0001", "resource_type": "Patient",
              "resource_id": "p", "op": "delete", "base_version": None}
    response = client.post("/sync/push", json={"changes": [change] * 1001},
                           headers=clinic_a.headers)
    _outcome(response, 413)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
