"""A state-changing admin API call (add a clinic, issue an enrolment code, revoke a device)
writes its access entry in the same transaction as its change: when the server's chain cannot
be appended to, the answer is a 503 OperationOutcome and the change is not committed; normally
the call has exactly one entry, which names its target and never the enrolment code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sync_server.audit import server_log
from sync_server.auth import tenancy
from sync_server.store.db import Database
from sync_server.store.models import Clinic, EnrolmentCode, ServerAuditEntry
from tests.server.server_helpers import admin_token, db_of, enrol_device


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(client)}"}


def _count(db: Database, query: Any) -> int:
    with db.read() as session:
        return int(session.execute(query).scalar_one())


def _entries(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        rows = session.execute(select(ServerAuditEntry.entry)
                               .order_by(ServerAuditEntry.seq)).scalars().all()
    return [json.loads(r) for r in rows]


def _break_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every append to the server's chain fails, once its rows are in the transaction."""
    def refuse(session: Any, many: list[dict[str, Any]]) -> list[int]:
        session.flush()
        raise OperationalError("append", {}, Exception("database is locked"))
    monkeypatch.setattr(server_log, "append_many_in", refuse)


def _refused(response: Any) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "transient"


def test_no_entry_no_change(client: TestClient, headers: dict[str, str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    db = db_of(client)
    clinic_id = tenancy.add_clinic(db, "North")
    device = enrol_device(client, clinic_id)
    clinics, codes = _count(db, select(func.count(Clinic.id))), \
        _count(db, select(func.count()).select_from(EnrolmentCode))
    entries = len(_entries(db))
    _break_the_chain(monkeypatch)

    _refused(client.post("/admin/clinics", json={"name": "South"}, headers=headers))
    _refused(client.post(f"/admin/clinics/{clinic_id}/enrolment-codes", headers=headers))
    _refused(client.post(f"/admin/devices/{device.device_id}/revoke", headers=headers))

    monkeypatch.undo()
    assert _count(db, select(func.count(Clinic.id))) == clinics  # no clinic added
    assert _count(db, select(func.count()).select_from(EnrolmentCode)) == codes  # no code
    assert len(_entries(db)) == entries
    # the device was not revoked: it still syncs
    assert client.get("/sync/pull", headers=device.headers).status_code == 200


def test_one_entry_per_call_naming_its_target(client: TestClient,
                                              headers: dict[str, str]) -> None:
    db = db_of(client)
    before = len(_entries(db))
    added = client.post("/admin/clinics", json={"name": "North"}, headers=headers)
    assert added.status_code == 201
    clinic_id = added.json()["id"]
    code = client.post(f"/admin/clinics/{clinic_id}/enrolment-codes", headers=headers)
    assert code.status_code == 201
    device = client.post("/sync/enrol", json={"code": code.json()["code"]}).json()
    revoked = client.post(f"/admin/devices/{device['device_id']}/revoke", headers=headers)
    assert revoked.status_code == 200
    missing = client.post("/admin/devices/nope/revoke", headers=headers)
    assert missing.status_code == 404

    new = [e for e in _entries(db)[before:] if e["route"].startswith("/admin")]
    assert [(e["interaction"], e["status"]) for e in new] == [
        ("clinic-add", 201), ("enrolment-code-add", 201), ("device-revoke", 200),
        ("device-revoke", 404)]
    answers = [added, code, revoked, missing]
    assert [e["request_id"] for e in new] == [r.headers["x-request-id"] for r in answers]
    assert len({e["actor"] for e in new}) == 1 and new[0]["actor"].startswith("admin:")
    assert new[0]["clinic"] == clinic_id and new[1]["clinic"] == clinic_id
    assert new[2]["device"] == device["device_id"] and new[3]["device"] == "nope"
    assert code.json()["code"] not in json.dumps(_entries(db))  # never the code
