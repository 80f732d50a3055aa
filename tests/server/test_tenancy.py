"""Tenants: a device sees only its clinic on every endpoint (404, never 403), revocation,
one-time expiring enrolment codes, system clients and their scopes, admins with TOTP."""

from __future__ import annotations

import uuid

import pyotp
import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.settings import RateLimit, SettingsError
from sync_server.store.clock import now_instant
from sync_server.store.db import Database
from sync_server.store.models import EnrolmentCode
from tests.server.server_helpers import Tenant, db_of, make_settings, patient
from tests.server.server_helpers import admin_token as signed_in_admin
from tests.server.test_sync_push import change, do_push


def test_other_clinics_data_is_invisible_everywhere(client: TestClient, clinic_a: Tenant,
                                                    clinic_b: Tenant) -> None:
    pid = str(uuid.uuid4())
    do_push(client, clinic_a, change(pid, resource=patient("Secret", id=pid)))
    b = clinic_b.headers
    assert client.get(f"/fhir/Patient/{pid}", headers=b).status_code == 404
    assert client.get(f"/fhir/Patient/{pid}/_history", headers=b).status_code == 404
    assert client.get(f"/fhir/Patient/{pid}/_history/1", headers=b).status_code == 404
    assert client.get("/fhir/Patient?name=secret", headers=b).json()["total"] == 0
    assert client.get(f"/fhir/Patient?_id={pid}", headers=b).json()["total"] == 0
    assert client.get("/fhir/Patient/_history", headers=b).json()["total"] == 0
    assert client.get("/fhir/_history", headers=b).json()["total"] == 0
    assert client.get("/sync/pull?cursor=0", headers=b).json()["changes"] == []
    assert client.get("/sync/digest", headers=b).json()["count"] == 0
    assert client.get("/sync/digest/Patient", headers=b).json()["items"] == []
    batch = {"resourceType": "Bundle", "type": "batch",
             "entry": [{"request": {"method": "GET", "url": f"Patient/{pid}"}}]}
    assert client.post("/fhir", json=batch, headers=b).json()["entry"][0]["response"][
        "status"] == "404"
    # Writing "the same id" in clinic B makes B's own resource; A's is untouched.
    result, = do_push(client, clinic_b, change(pid, "1", resource=patient("Evil", id=pid)))
    assert result["status"] == "conflict" and result["current"] is None
    assert client.delete(f"/fhir/Patient/{pid}", headers=b).status_code == 204
    own = client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers).json()
    assert own["name"][0]["family"] == "Secret" and own["meta"]["versionId"] == "1"


def test_revoked_device_is_refused(client: TestClient, clinic_a: Tenant) -> None:
    assert client.get("/sync/pull", headers=clinic_a.headers).status_code == 200
    tenancy.revoke_device(db_of(client), clinic_a.device_id)
    for method, url in (("GET", "/sync/pull"), ("POST", "/sync/push"), ("GET", "/fhir/Patient"),
                        ("GET", "/sync/digest"), ("POST", "/sync/audit")):
        response = client.request(method, url, json={}, headers=clinic_a.headers)
        assert response.status_code == 401, url
        assert response.json()["resourceType"] == "OperationOutcome"


def test_enrolment_code_is_one_time_and_expires(client: TestClient, clinic_a: Tenant) -> None:
    db = db_of(client)
    code = auth.new_enrolment_code(db, clinic_a.clinic_id, 24)
    assert client.post("/sync/enrol", json={"code": code.lower()}).status_code == 201
    assert client.post("/sync/enrol", json={"code": code}).status_code == 401
    expired = auth.new_enrolment_code(db, clinic_a.clinic_id, 24)
    with db.write() as session:
        for row in session.query(EnrolmentCode).all():
            row.expires_at = now_instant()
    assert client.post("/sync/enrol", json={"code": expired}).status_code == 401
    assert client.post("/sync/enrol", json={"code": "AAAA-BBBB-CCCC-DDDD"}).status_code == 401
    assert client.post("/sync/enrol", json={"code": 7}).status_code == 400


def test_devices_cannot_use_the_admin_api(client: TestClient, clinic_a: Tenant) -> None:
    assert client.get("/admin/clinics", headers=clinic_a.headers).status_code == 403


@pytest.fixture
def admin_token(client: TestClient) -> str:
    return signed_in_admin(client)


def test_admin_sign_in_needs_password_and_fresh_totp(client: TestClient) -> None:
    secret = auth.add_admin(db_of(client), "ops", "another long password")
    code = pyotp.TOTP(secret).now()
    bad = client.post("/admin/token", json={"username": "ops", "password": "wrong password!",
                                            "totp": code})
    assert bad.status_code == 401
    good = client.post("/admin/token", json={"username": "ops",
                                             "password": "another long password", "totp": code})
    assert good.status_code == 200
    replay = client.post("/admin/token", json={"username": "ops",
                                               "password": "another long password",
                                               "totp": code})
    assert replay.status_code == 401  # a TOTP code works once


def test_admin_api_manages_clinics_codes_and_devices(client: TestClient,
                                                     admin_token: str) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    clinic = client.post("/admin/clinics", json={"name": "North"}, headers=headers).json()
    code = client.post(f"/admin/clinics/{clinic['id']}/enrolment-codes", headers=headers)
    assert code.status_code == 201
    device = client.post("/sync/enrol", json={"code": code.json()["code"]}).json()
    listed = client.get(f"/admin/clinics/{clinic['id']}/devices", headers=headers).json()
    assert [d["id"] for d in listed["devices"]] == [device["device_id"]]
    assert client.post(f"/admin/devices/{device['device_id']}/revoke",
                       headers=headers).status_code == 200
    assert client.get("/sync/pull", headers={
        "Authorization": f"Bearer {device['token']}"}).status_code == 401
    assert client.get("/admin/clinics/nope/devices", headers=headers).status_code == 404
    assert client.get("/fhir/Patient", headers=headers).status_code == 403
    assert client.get("/admin/audit/verify", headers=headers).json()["intact"] is True


def test_system_client_scopes(client: TestClient, clinic_a: Tenant, clinic_b: Tenant) -> None:
    db = db_of(client)
    pid = client.post("/fhir/Patient", json=patient(), headers=clinic_a.headers).json()["id"]
    client_id, secret = auth.add_system_client(db, clinic_a.clinic_id, "hospital",
                                               ["system/Patient.read"])
    form = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}
    issued = client.post("/auth/token", data=form)
    assert issued.status_code == 200, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert client.get(f"/fhir/Patient/{pid}", headers=headers).status_code == 200
    assert client.get("/fhir/Observation", headers=headers).status_code == 403
    assert client.post("/fhir/Patient", json=patient(), headers=headers).status_code == 403
    assert client.get("/sync/pull", headers=headers).status_code == 403
    assert client.post("/auth/token", data={**form, "client_secret": "x"}).status_code == 401
    assert client.post("/auth/token", data={**form, "scope": "system/*.write"}
                       ).status_code == 400
    tenancy.revoke_system_client(db, client_id)
    assert client.get(f"/fhir/Patient/{pid}", headers=headers).status_code == 401


def test_enrolment_is_rate_limited(database_url: str,
                                   shared_database: Database | None) -> None:
    settings = make_settings(database_url,
                             auth_rate=RateLimit(per_hour=100, burst=5, burst_seconds=60))
    with TestClient(create_app(settings, database=shared_database)) as client:
        statuses = [client.post("/sync/enrol", json={"code": f"WRONG-{i}"}).status_code
                    for i in range(7)]
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
        limited = client.post("/sync/enrol", json={"code": "X"})
        assert int(limited.headers["retry-after"]) > 0
        assert limited.json()["issue"][0]["code"] == "throttled"


def test_hourly_limit_per_account(database_url: str, shared_database: Database | None) -> None:
    settings = make_settings(database_url,
                             auth_rate=RateLimit(per_hour=3, burst=50, burst_seconds=60))
    with TestClient(create_app(settings, database=shared_database)) as client:
        attempt = {"username": "root", "password": "wrong password", "totp": "000000"}
        statuses = [client.post("/admin/token", json=attempt).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]


def test_settings_refuse_more_than_100_attempts_an_hour(database_url: str) -> None:
    with pytest.raises(SettingsError):
        make_settings(database_url, auth_rate=RateLimit(per_hour=101))
