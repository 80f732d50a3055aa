"""What a central admin does to a clinic through the admin API shows in that clinic's own
AuditEvents, as it does through the ``pms-sync-server admin`` command line (one path:
``admin_log.append_in``): an enrolment code made, a device revoked, the clinic added; a refused
call changes nothing and shows as refused; another clinic sees none of it; and with the
server's chain failing neither the change nor its AuditEvent is kept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sync_server.audit import server_log
from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.store.models import Device, EnrolmentCode, ResourceCurrent, ServerAuditEntry
from tests.server.server_helpers import admin_token, db_of, enrol_device


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(client)}"}


def _reader(client: TestClient, clinic_id: str) -> dict[str, str]:
    """A system client of the clinic that reads its FHIR API (as a hospital would)."""
    client_id, secret = auth.add_system_client(db_of(client), clinic_id, "reader",
                                               ["system/*.read"])
    token = client.post("/auth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _admin_events(client: TestClient, reader: dict[str, str]) -> list[dict[str, Any]]:
    """The clinic's AuditEvents that a central admin's chain entry made, oldest first."""
    answer = client.get("/fhir/AuditEvent?_count=1000", headers=reader)
    assert answer.status_code == 200, answer.text
    events = [e["resource"] for e in answer.json().get("entry", [])]
    found = [e for e in events if "central admin" in e["agent"][0]["role"][0]["text"]]
    return sorted(found, key=lambda e: json.loads(_verbatim(e))["seq"])


def _verbatim(event: dict[str, Any]) -> str:
    return next(str(d["valueString"]) for ent in event["entity"] for d in ent.get("detail", [])
                if d["type"] == "pms-chain-entry")


def _chain(client: TestClient) -> dict[int, str]:
    with db_of(client).read() as session:
        rows = session.execute(select(ServerAuditEntry.seq, ServerAuditEntry.entry)).all()
    return {int(seq): str(entry) for seq, entry in rows}


def _entries_of(client: TestClient, answer: Any) -> int:
    request_id = answer.headers["x-request-id"]
    return sum(json.loads(e).get("request_id") == request_id for e in _chain(client).values())


def _api_event(event: dict[str, Any], request_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(_verbatim(event))
    assert entry["request_id"] == request_id
    assert event["agent"][0]["role"][0]["text"] == "central admin (admin API)"
    assert event["agent"][0]["who"]["display"] == entry["actor"]
    assert entry["actor"].startswith("admin:")
    assert event["action"] == "U"
    return entry


def test_an_admin_api_change_is_in_the_clinic_audit(client: TestClient,
                                                    admin: dict[str, str]) -> None:
    db = db_of(client)
    north, south = tenancy.add_clinic(db, "North"), tenancy.add_clinic(db, "South")
    device = enrol_device(client, north)
    north_reader, south_reader = _reader(client, north), _reader(client, south)

    code = client.post(f"/admin/clinics/{north}/enrolment-codes", headers=admin)
    revoked = client.post(f"/admin/devices/{device.device_id}/revoke", headers=admin)
    added = client.post("/admin/clinics", json={"name": "East"}, headers=admin)
    assert (code.status_code, revoked.status_code, added.status_code) == (201, 200, 201)

    events = _admin_events(client, north_reader)
    assert [e["outcomeDesc"] for e in events] == [
        "pms-sync-server admin API enrolment-code-add: done",
        "pms-sync-server admin API device-revoke: done"]
    assert all(e["outcome"] == "0" for e in events)
    made = _api_event(events[0], code.headers["x-request-id"])
    gone = _api_event(events[1], revoked.headers["x-request-id"])
    assert (made["clinic"], made["status"]) == (north, 201)
    assert (gone["device"], gone["clinic"], gone["status"]) == (device.device_id, north, 200)
    assert events[1]["entity"][0]["what"]["identifier"]["value"] == device.device_id
    # each event carries its chain entry verbatim: the chain holds exactly that text
    chain = _chain(client)
    assert all(chain[json.loads(_verbatim(e))["seq"]] == _verbatim(e) for e in events)
    assert code.json()["code"] not in json.dumps(events)  # never the code

    assert _admin_events(client, south_reader) == []  # another clinic sees none of it
    east = _admin_events(client, _reader(client, added.json()["id"]))
    assert [e["outcomeDesc"] for e in east] == ["pms-sync-server admin API clinic-add: done"]
    assert _api_event(east[0], added.headers["x-request-id"])["clinic"] == added.json()["id"]


def test_a_refused_call_changes_nothing_and_says_so(client: TestClient,
                                                    admin: dict[str, str]) -> None:
    db = db_of(client)
    north = tenancy.add_clinic(db, "North")
    device = enrol_device(client, north)
    reader = _reader(client, north)
    assert client.post(f"/admin/devices/{device.device_id}/revoke",
                       headers=admin).status_code == 200
    with db.read() as session:
        revoked_at = session.get(Device, device.device_id).revoked_at  # type: ignore[union-attr]
    again = client.post(f"/admin/devices/{device.device_id}/revoke", headers=admin)
    assert again.status_code == 404
    assert again.json()["resourceType"] == "OperationOutcome"
    assert "no active device" in again.json()["issue"][0]["diagnostics"]
    with db.read() as session:  # nothing changed: revoked when it was, not again
        assert session.get(Device, device.device_id).revoked_at == revoked_at  # type: ignore[union-attr]

    refusal = _admin_events(client, reader)[-1]
    assert refusal["outcome"] == "4"
    assert refusal["outcomeDesc"] == ("pms-sync-server admin API device-revoke: refused "
                                      "(no active device with that id)")
    entry = _api_event(refusal, again.headers["x-request-id"])
    assert (entry["status"], entry["device"], entry["clinic"]) == (404, device.device_id, north)
    assert _entries_of(client, again) == 1  # one entry for the refusal, not two

    # A refusal that concerns no clinic (an unknown device) has its chain entry only.
    events = len(_admin_events(client, reader))
    missing = client.post("/admin/devices/nope/revoke", headers=admin)
    assert missing.status_code == 404
    assert _entries_of(client, missing) == 1
    assert len(_admin_events(client, reader)) == events


def test_no_chain_entry_no_audit_event(client: TestClient, admin: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db = db_of(client)
    north = tenancy.add_clinic(db, "North")
    device = enrol_device(client, north)
    reader = _reader(client, north)

    def events_and_codes() -> tuple[int, int]:
        with db.read() as session:
            events = session.execute(select(func.count()).select_from(ResourceCurrent).where(
                ResourceCurrent.clinic_id == north,
                ResourceCurrent.resource_type == "AuditEvent")).scalar_one()
            codes = session.execute(select(func.count()).select_from(EnrolmentCode)).scalar_one()
        return int(events), int(codes)

    before = events_and_codes()

    def refuse(session: Any, many: list[dict[str, Any]]) -> list[int]:
        session.flush()
        raise OperationalError("append", {}, Exception("database is locked"))
    monkeypatch.setattr(server_log, "append_many_in", refuse)
    assert client.post(f"/admin/clinics/{north}/enrolment-codes",
                       headers=admin).status_code == 503
    assert client.post(f"/admin/devices/{device.device_id}/revoke",
                       headers=admin).status_code == 503
    monkeypatch.undo()

    assert events_and_codes() == before
    assert _admin_events(client, reader) == []
    assert client.get("/sync/pull", headers=device.headers).status_code == 200  # not revoked
