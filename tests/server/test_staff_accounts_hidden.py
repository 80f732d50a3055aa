"""Staff accounts (Basic ``staff-user``) travel only through the sync API: no FHIR endpoint
serves them, in any Bundle or answer, nor accepts them; the sync channel still carries them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync_server.auth import service as auth
from tests.server.server_helpers import Tenant, db_of

SD = "https://clinic-pms.example/fhir/StructureDefinition/"
KIND = "https://clinic-pms.example/fhir/CodeSystem/basic-kind"
SEALED = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # opaque to the server


def staff(rid: str, username: str = "nina", sealed: bool = True,
          code: str = "staff-user") -> dict[str, Any]:
    extension = [{"url": SD + "username", "valueString": username},
                 {"url": SD + "role", "valueCode": "reception"}]
    if sealed:
        extension.append({"url": SD + "sealed-credentials", "valueBase64Binary": SEALED})
    return {"resourceType": "Basic", "id": rid, "extension": extension,
            "code": {"coding": [{"system": KIND, "code": code}]}}


def template(rid: str) -> dict[str, Any]:
    return {"resourceType": "Basic", "id": rid,
            "extension": [{"url": SD + "template-name", "valueString": "Follow-up"}],
            "code": {"coding": [{"system": KIND, "code": "note-template"}]}}


def push(client: TestClient, tenant: Tenant, rid: str, resource: dict[str, Any] | None,
         base: str | None = None) -> dict[str, Any]:
    change = {"change_id": str(uuid.uuid4()), "resource_type": "Basic", "resource_id": rid,
              "op": "upsert" if resource else "delete", "base_version": base,
              "resource": resource}
    response = client.post("/sync/push", json={"changes": [change]}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["results"][0]
    return result


@pytest.fixture
def accounts(client: TestClient, clinic_a: Tenant) -> dict[str, str]:
    """Two staff accounts (one later deleted, one updated) and a note template, all pushed."""
    ids = {k: str(uuid.uuid4()) for k in ("staff", "gone", "template")}
    assert push(client, clinic_a, ids["staff"], staff(ids["staff"]))["status"] == "applied"
    assert push(client, clinic_a, ids["staff"], staff(ids["staff"], "nina2"), "1")["version"] == "2"
    # An account marked once stays hidden, whatever a later version says.
    push(client, clinic_a, ids["staff"], template(ids["staff"]), "2")
    push(client, clinic_a, ids["gone"], staff(ids["gone"], "old", sealed=False))
    push(client, clinic_a, ids["gone"], None, "1")
    push(client, clinic_a, ids["template"], template(ids["template"]))
    return ids


def _text(response: Any) -> str:
    return json.dumps(response.json())


def test_no_fhir_read_serves_a_staff_account(client: TestClient, clinic_a: Tenant,
                                             accounts: dict[str, str]) -> None:
    h, staff_id, gone = clinic_a.headers, accounts["staff"], accounts["gone"]
    for url in (f"/fhir/Basic/{staff_id}", f"/fhir/Basic/{staff_id}/_history/1",
                f"/fhir/Basic/{staff_id}/_history/3", f"/fhir/Basic/{staff_id}/_history",
                f"/fhir/Basic/{gone}", f"/fhir/Basic/{gone}/_history/1",
                f"/fhir/Basic/{gone}/_history"):
        response = client.get(url, headers=h)
        assert response.status_code == 404, url
        assert "nina" not in response.text and SEALED not in response.text
    assert client.get(f"/fhir/Basic/{accounts['template']}", headers=h).status_code == 200


SEARCHES = [  # (url, total): what a FHIR client sees with one note template and two accounts
    ("/fhir/Basic", 1), ("/fhir/Basic?_id={staff}", 0), ("/fhir/Basic?_id={staff},{template}", 1),
    ("/fhir/Basic?_lastUpdated=gt2000-01-01", 1), ("/fhir/Basic?_sort=-_lastUpdated", 1),
    ("/fhir/Basic?_summary=count", 1), ("/fhir/Basic?_id={staff}&_summary=count", 0),
    ("/fhir/Basic/_history", 1), ("/fhir/_history", 1), ("/fhir/_history?_count=100", 1),
    ("/fhir/Basic/_history?_since=2000-01-01T00:00:00Z", 1),
]


def test_searches_and_histories_leave_staff_accounts_out(
        client: TestClient, clinic_a: Tenant, accounts: dict[str, str]) -> None:
    for url, total in SEARCHES:
        response = client.get(url.format(**accounts), headers=clinic_a.headers)
        assert response.status_code == 200, (url, response.text)
        body = response.json()
        entries = json.dumps(body.get("entry", []))
        assert accounts["staff"] not in entries and accounts["gone"] not in entries, url
        assert "sealed-credentials" not in entries and "staff-user" not in entries, url
        assert body["total"] == total, url
        assert len(body.get("entry", [])) == (0 if "_summary" in url else total), url


def test_bundles_leave_staff_accounts_out(client: TestClient, clinic_a: Tenant,
                                          accounts: dict[str, str]) -> None:
    staff_id = accounts["staff"]
    entries = [{"request": {"method": "GET", "url": f"Basic/{staff_id}"}},
               {"request": {"method": "GET", "url": f"Basic?_id={staff_id}"}},
               {"request": {"method": "GET", "url": "Basic"}}]
    batch = client.post("/fhir", json={"resourceType": "Bundle", "type": "batch",
                                       "entry": entries}, headers=clinic_a.headers)
    assert batch.status_code == 200
    first, by_id, everything = batch.json()["entry"]
    assert first["response"]["status"] == "404"
    assert by_id["resource"]["total"] == 0
    assert everything["resource"]["total"] == 1
    assert "sealed-credentials" not in _text(batch) and "nina" not in _text(batch)
    transaction = client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction",
                                             "entry": entries[:1]}, headers=clinic_a.headers)
    assert transaction.status_code == 404 and "nina" not in transaction.text
    # A conditional create cannot find (and so return) a staff account either.
    created = client.post("/fhir/Basic", json=template("x"), headers={
        **clinic_a.headers, "If-None-Exist": f"_id={staff_id}"})
    assert created.status_code == 201 and created.json()["id"] != staff_id


def test_fhir_writes_cannot_make_or_touch_a_staff_account(
        client: TestClient, clinic_a: Tenant, accounts: dict[str, str]) -> None:
    h, staff_id = clinic_a.headers, accounts["staff"]
    fresh = str(uuid.uuid4())
    refused = [
        client.post("/fhir/Basic", json=staff(fresh), headers=h),
        client.post("/fhir/Basic", json=staff(fresh, sealed=False), headers=h),
        client.put(f"/fhir/Basic/{fresh}", json=staff(fresh), headers=h),
        client.put(f"/fhir/Basic/{staff_id}", json=template(staff_id), headers=h),
        client.delete(f"/fhir/Basic/{staff_id}", headers=h),
        client.post("/fhir", headers=h, json={"resourceType": "Bundle", "type": "transaction",
                                              "entry": [{"request": {"method": "PUT",
                                                                     "url": f"Basic/{fresh}"},
                                                         "resource": staff(fresh)}]}),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["resourceType"] == "OperationOutcome"
    # Sealed credentials belong on staff accounts only.
    patient = {"resourceType": "Patient", "extension": [
        {"url": SD + "sealed-credentials", "valueBase64Binary": SEALED}]}
    assert client.post("/fhir/Patient", json=patient, headers=h).status_code == 400
    current = client.get(f"/sync/resource/Basic/{staff_id}", headers=h).json()
    assert current["meta"]["versionId"] == "3"  # nothing was written


def test_system_clients_see_no_staff_account(client: TestClient, clinic_a: Tenant,
                                             accounts: dict[str, str]) -> None:
    client_id, secret = auth.add_system_client(db_of(client), clinic_a.clinic_id, "hospital",
                                               ["system/*.*"])
    token = client.post("/auth/token", data={"grant_type": "client_credentials",
                                             "client_id": client_id, "client_secret": secret})
    h = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get(f"/fhir/Basic/{accounts['staff']}", headers=h).status_code == 404
    listed = client.get("/fhir/Basic", headers=h).json()
    assert {e["resource"]["id"] for e in listed["entry"]} == {accounts["template"]}
    assert accounts["staff"] not in client.get("/fhir/_history", headers=h).text
    assert client.get(f"/sync/resource/Basic/{accounts['staff']}", headers=h).status_code == 403


def test_the_sync_channel_still_carries_them(client: TestClient, clinic_a: Tenant,
                                             clinic_b: Tenant, accounts: dict[str, str]) -> None:
    h, staff_id = clinic_a.headers, accounts["staff"]
    pulled = client.get("/sync/pull?cursor=0", headers=h).json()["changes"]
    assert {c["id"] for c in pulled} >= {staff_id, accounts["gone"]}
    assert any(SEALED in json.dumps(c["resource"]) for c in pulled if c["id"] == staff_id)
    digest = client.get("/sync/digest/Basic", headers=h).json()
    assert {i["id"] for i in digest["items"]} == set(accounts.values())
    read = client.get(f"/sync/resource/Basic/{staff_id}", headers=h)
    assert read.status_code == 200 and read.headers["etag"] == 'W/"3"'
    assert client.get(f"/sync/resource/Basic/{accounts['gone']}", headers=h).status_code == 410
    assert client.get(f"/sync/resource/Basic/{staff_id}",
                      headers=clinic_b.headers).status_code == 404  # another clinic's id
    assert client.get("/sync/resource/Basic/not%20an%20id", headers=h).status_code == 400
    assert client.get("/sync/resource/Nonsense/x", headers=h).status_code == 404
