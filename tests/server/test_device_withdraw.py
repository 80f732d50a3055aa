"""A device gives its own credential back (a join cancelled after the enrolment code was spent):
only itself, in the server's audit chain, refused afterwards, shown revoked in the device list;
the enrolment code stays spent."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.store.models import ServerAuditEntry
from tests.server.server_helpers import Tenant, db_of, enrol_device


def _chain(client: TestClient) -> list[dict[str, object]]:
    with db_of(client).read() as session:
        return [json.loads(r.entry) for r in session.query(ServerAuditEntry)
                .order_by(ServerAuditEntry.seq)]


def test_a_device_withdraws_itself_and_only_itself(client: TestClient, clinic_a: Tenant,
                                                   clinic_b: Tenant) -> None:
    joining = enrol_device(client, clinic_a.clinic_id, "Reception 2")
    # Another device (of this clinic or another) cannot withdraw it, nor can an anonymous call.
    for other in (clinic_a, clinic_b):
        refused = client.post(f"/sync/devices/{joining.device_id}/withdraw",
                              headers=other.headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["resourceType"] == "OperationOutcome"
    assert client.post(f"/sync/devices/{joining.device_id}/withdraw").status_code == 401
    assert client.get("/sync/pull", headers=joining.headers).status_code == 200

    done = client.post(f"/sync/devices/{joining.device_id}/withdraw", headers=joining.headers)
    assert done.status_code == 200 and done.json() == {"id": joining.device_id, "withdrawn": True}
    for method, url in (("GET", "/sync/pull"), ("POST", "/sync/push"), ("GET", "/fhir/Patient"),
                        ("POST", f"/sync/devices/{joining.device_id}/withdraw")):
        assert client.request(method, url, json={}, headers=joining.headers).status_code == 401
    devices = {d.id: d for d in tenancy.list_devices(db_of(client), clinic_a.clinic_id)}
    assert devices[joining.device_id].revoked_at is not None
    assert devices[clinic_a.device_id].revoked_at is None  # the others keep working
    assert client.get("/sync/pull", headers=clinic_a.headers).status_code == 200

    chain = [e for e in _chain(client) if e["interaction"] == "device-withdraw"]
    assert [(e["actor"], e["device"], e["status"]) for e in chain] == [
        (f"device:{clinic_a.device_id}", joining.device_id, 403),
        (f"device:{clinic_b.device_id}", joining.device_id, 403),
        (f"device:{joining.device_id}", joining.device_id, 200)]


def test_the_enrolment_code_stays_spent(client: TestClient, clinic_a: Tenant) -> None:
    code = auth.new_enrolment_code(db_of(client), clinic_a.clinic_id, 24)
    body = client.post("/sync/enrol", json={"code": code, "device_name": "ws"}).json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.post(f"/sync/devices/{body['device_id']}/withdraw",
                       headers=headers).status_code == 200
    assert client.post("/sync/enrol", json={"code": code}).status_code == 401
