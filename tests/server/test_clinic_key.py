"""The clinic key mailbox: one wrapped key per clinic, re-wrappable under a new code, never
replaced by another key, for the clinic's devices only; and the migration that marks staff
accounts pushed before it as sync-only."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.store import migrate
from sync_server.store.db import Database
from tests.server.server_helpers import Tenant, db_of, enrol_device

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sync"


def example() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "clinic_key_request.json").read_text("utf-8"))
    return body


def test_first_key_then_new_code_then_no_other_key(client: TestClient, clinic_a: Tenant,
                                                   clinic_b: Tenant) -> None:
    h = clinic_a.headers
    assert client.get("/sync/clinic-key", headers=h).status_code == 404
    first = client.put("/sync/clinic-key", json=example(), headers=h)
    assert first.status_code == 201, first.text
    stored = client.get("/sync/clinic-key", headers=h)
    assert stored.status_code == 200
    expected = json.loads((FIXTURES / "clinic_key_response.json").read_text("utf-8"))
    assert {k: v for k, v in stored.json().items() if not k.endswith("_at")} == {
        k: v for k, v in expected.items() if not k.endswith("_at")}
    # The same key under a new code replaces the wrapping.
    rewrapped = example()
    rewrapped["wrapped"]["salt"] = "EREREREREREREREREREREQ=="
    assert client.put("/sync/clinic-key", json=rewrapped, headers=h).status_code == 200
    assert client.get("/sync/clinic-key", headers=h).json()["wrapped"]["salt"] == \
        "EREREREREREREREREREREQ=="
    # Another key would strand every account sealed under the first: refused.
    other = {**example(), "key_id": "00112233445566778899aabbccddeeff"}
    refused = client.put("/sync/clinic-key", json=other, headers=h)
    assert refused.status_code == 409 and refused.json()["resourceType"] == "OperationOutcome"
    assert client.get("/sync/clinic-key", headers=h).json()["key_id"] == example()["key_id"]
    # Each clinic has its own mailbox.
    assert client.get("/sync/clinic-key", headers=clinic_b.headers).status_code == 404
    assert client.put("/sync/clinic-key", json=other, headers=clinic_b.headers).status_code == 201
    assert client.get("/sync/clinic-key", headers=h).json()["key_id"] == example()["key_id"]


def test_a_spend_does_not_overwrite_a_code_issued_since_it_read(client: TestClient,
                                                               clinic_a: Tenant) -> None:
    """Workstation B opened the key with a code and spends it (GET, then PUT a wrapping under
    a code nobody is told) while an admin on workstation A issues a newer code between B's
    two requests: B's PUT names the wrapping it read and is refused, the newer code's wrapping
    stays. Without If-Match B's PUT would strand the newer code."""
    h = clinic_a.headers
    first = client.put("/sync/clinic-key", json=example(), headers=h)
    assert first.status_code == 201 and first.headers["etag"]
    b = enrol_device(client, clinic_a.clinic_id, "B").headers
    read = client.get("/sync/clinic-key", headers=b)
    assert read.headers["etag"] == first.headers["etag"]
    newer = example()
    newer["wrapped"]["nonce"] = "ISEhISEhISEhISEh"
    issued = client.put("/sync/clinic-key", json=newer, headers=h)
    assert issued.status_code == 200 and issued.headers["etag"] != read.headers["etag"]
    spend = example()
    spend["wrapped"]["nonce"] = "IiIiIiIiIiIiIiIi"
    stale = client.put("/sync/clinic-key", json=spend,
                       headers={**b, "If-Match": read.headers["etag"]})
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"
    assert client.get("/sync/clinic-key", headers=h).json()["wrapped"]["nonce"] == \
        "ISEhISEhISEhISEh"
    # Naming the wrapping stored now, the spend goes through; If-Match with no key is a 412.
    fresh = client.put("/sync/clinic-key", json=spend,
                       headers={**b, "If-Match": issued.headers["etag"]})
    assert fresh.status_code == 200, fresh.text
    assert client.get("/sync/clinic-key", headers=h).json()["wrapped"]["nonce"] == \
        "IiIiIiIiIiIiIiIi"
    other = enrol_device(client, tenancy.add_clinic(db_of(client), "Clinic C"), "C")
    assert client.put("/sync/clinic-key", json=example(),
                      headers={**other.headers, "If-Match": "*"}).status_code == 412


def _broken(change: Any) -> dict[str, Any]:
    body = example()
    change(body)
    return body


MALFORMED = [
    [], {"key_id": "ab" * 8}, {**example(), "extra": 1},
    _broken(lambda b: b.update(key_id="NOT-HEX-NOT-HEX!")),
    _broken(lambda b: b.update(key_id="abc")),
    _broken(lambda b: b["wrapped"].update(alg="rot13")),
    _broken(lambda b: b["wrapped"].update(nonce="AAAA")),
    _broken(lambda b: b["wrapped"].update(salt="not base64!")),
    _broken(lambda b: b["wrapped"].update(ciphertext="A" * 1000)),
    _broken(lambda b: b["wrapped"].update(memory_kib=10**9)),  # would exhaust a workstation
    _broken(lambda b: b["wrapped"].update(time_cost=True)),
    _broken(lambda b: b["wrapped"].pop("parallelism")),
    _broken(lambda b: b["wrapped"].update(code="ABCDEF-GHIJKL")),  # never the code itself
]


def test_malformed_keys_are_refused(client: TestClient, clinic_a: Tenant) -> None:
    for body in MALFORMED:
        response = client.put("/sync/clinic-key", json=copy.deepcopy(body),
                              headers=clinic_a.headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/sync/clinic-key", headers=clinic_a.headers).status_code == 404


def test_only_the_clinics_devices_reach_the_mailbox(client: TestClient,
                                                    clinic_a: Tenant) -> None:
    assert client.get("/sync/clinic-key").status_code == 401
    assert client.put("/sync/clinic-key", json=example()).status_code == 401
    client_id, secret = auth.add_system_client(db_of(client), clinic_a.clinic_id, "hospital",
                                               ["system/*.*"])
    token = client.post("/auth/token", data={"grant_type": "client_credentials",
                                             "client_id": client_id, "client_secret": secret})
    h = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.put("/sync/clinic-key", json=example(), headers=h).status_code == 403
    client.put("/sync/clinic-key", json=example(), headers=clinic_a.headers)
    assert client.get("/sync/clinic-key", headers=h).status_code == 403
    assert client.get("/sync/clinic-key", headers=clinic_a.headers).status_code == 200


def test_migration_marks_staff_accounts_pushed_before_it(tmp_path: Path) -> None:
    from alembic import command

    path = tmp_path / "old.db"
    db = Database(f"sqlite:///{path}")
    config = migrate._config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    staff = {"resourceType": "Basic", "id": "s1", "code": {"coding": [{"code": "staff-user"}]}}
    rows = [("s1", 1, json.dumps(staff)), ("s1", 2, None),
            ("t1", 1, json.dumps({"resourceType": "Basic", "id": "t1"}))]
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO clinics VALUES ('c1', 'Clinic', 'x', 3)")
        conn.executemany(
            "INSERT INTO resource_versions (clinic_id, resource_type, resource_id, version, seq,"
            " deleted, last_updated, content) VALUES ('c1', 'Basic', ?, ?, ?, ?, 'x', ?)",
            [(rid, v, n, content is None, content) for n, (rid, v, content) in enumerate(rows)])
    migrate.upgrade(db.engine)
    with sqlite3.connect(path) as conn:
        marked = conn.execute("SELECT resource_id FROM sync_only_resources").fetchall()
    db.dispose()
    assert marked == [("s1",)]
