"""A device renames itself with its own credential (``PUT /sync/devices/{id}/name``): the
central admin's device list shows the new name, the server's audit chain holds the old and new
names; another device's id, bad names and other callers are refused with an OperationOutcome
and change nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from sync_server.auth import tenancy
from sync_server.store.models import ServerAuditEntry
from tests.server.server_helpers import Tenant, db_of


def _names(client: TestClient, clinic_id: str) -> dict[str, str]:
    return {d.id: d.name for d in tenancy.list_devices(db_of(client), clinic_id)}


def _rename(client: TestClient, who: Tenant, device_id: str, body: object) -> dict:
    response = client.put(f"/sync/devices/{device_id}/name", json=body, headers=who.headers)
    return {"status": response.status_code, **response.json()}


def test_a_device_renames_itself(client: TestClient, clinic_a: Tenant) -> None:
    answer = _rename(client, clinic_a, clinic_a.device_id, {"name": "  Reception 1 "})
    assert answer == {"status": 200, "id": clinic_a.device_id, "name": "Reception 1"}
    assert _names(client, clinic_a.clinic_id)[clinic_a.device_id] == "Reception 1"
    with db_of(client).read() as session:
        entries = [json.loads(e) for e in session.execute(select(ServerAuditEntry.entry))
                   .scalars()]
    renamed = [e for e in entries if e.get("interaction") == "device-rename"]
    assert renamed[-1]["old_name"] == "ws" and renamed[-1]["name"] == "Reception 1"
    assert renamed[-1]["actor"] == f"device:{clinic_a.device_id}"


def test_bad_names_and_other_devices_are_refused(client: TestClient, clinic_a: Tenant,
                                                 clinic_b: Tenant) -> None:
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 7},
                 {"name": "Room\n3"}, {}, ["Room 3"]):
        answer = _rename(client, clinic_a, clinic_a.device_id, body)
        assert answer["status"] == 400 and answer["resourceType"] == "OperationOutcome", body
        assert answer["issue"][0].get("expression") in (["name"], None)
    # Another device's id, in another clinic: refused, its name kept.
    answer = _rename(client, clinic_a, clinic_b.device_id, {"name": "Hijacked"})
    assert answer["status"] == 403 and answer["resourceType"] == "OperationOutcome"
    assert _names(client, clinic_b.clinic_id)[clinic_b.device_id] == "ws"
    assert _names(client, clinic_a.clinic_id)[clinic_a.device_id] == "ws"
    # No credential, or a revoked one.
    assert client.put(f"/sync/devices/{clinic_a.device_id}/name",
                      json={"name": "Room 3"}).status_code == 401
    tenancy.revoke_device(db_of(client), clinic_a.device_id)
    assert _rename(client, clinic_a, clinic_a.device_id, {"name": "Room 3"})["status"] == 401
    assert _names(client, clinic_a.clinic_id)[clinic_a.device_id] == "ws"
