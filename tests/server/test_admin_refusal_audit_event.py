"""A refused central-admin call is in the clinic's AuditEvents as FHIR records a failed attempt:
the action attempted (``U``: a change to who reaches the clinic's data) with ``outcome`` a
failure (``4``, the value set's "minor failure, often equivalent to an HTTP 400") and why in
``outcomeDesc``, never a success. The command line and the admin API record the same attempt
the same way (one path: ``admin_log.append_in``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.cli import main
from tests.server.server_helpers import admin_token, db_of, enrol_device


def _events(client: TestClient, clinic_id: str) -> list[dict[str, Any]]:
    client_id, secret = auth.add_system_client(db_of(client), clinic_id, "reader",
                                               ["system/*.read"])
    token = client.post("/auth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret}).json()["access_token"]
    answer = client.get("/fhir/AuditEvent?_count=1000",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    found = [e["resource"] for e in answer.json().get("entry", [])
             if "central admin" in e["resource"]["agent"][0]["role"][0]["text"]]
    return sorted(found, key=lambda e: json.loads(next(
        d["valueString"] for ent in e["entity"] for d in ent.get("detail", [])
        if d["type"] == "pms-chain-entry"))["seq"])


def test_a_refused_revoke_is_a_failed_attempt_by_either_door(
        client: TestClient, database_url: str) -> None:
    north = tenancy.add_clinic(db_of(client), "North")
    device = enrol_device(client, north).device_id
    admin = {"Authorization": f"Bearer {admin_token(client)}"}
    assert client.post(f"/admin/devices/{device}/revoke", headers=admin).status_code == 200
    assert client.post(f"/admin/devices/{device}/revoke", headers=admin).status_code == 404
    assert main(["admin", "device-revoke", "--database-url", database_url, device]) != 0

    seen = [(e["outcomeDesc"], e["action"], e["outcome"]) for e in _events(client, north)]
    assert seen == [
        ("pms-sync-server admin API device-revoke: done", "U", "0"),
        ("pms-sync-server admin API device-revoke: refused (no active device with that id)",
         "U", "4"),
        ("pms-sync-server admin device-revoke: refused (no active device with that id)",
         "U", "4")]
