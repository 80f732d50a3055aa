"""The sync contract's example bodies in ``tests/fixtures/sync/`` are what the server does.

The desktop team's client tests read the same files. Each scenario replays the example requests
on a fresh clinic and compares the answers with the stored examples, timestamps and generated
ids aside. ``PMS_REGENERATE_FIXTURES=1`` rewrites the answers (review the diff!).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import Tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sync"
REGENERATE = os.environ.get("PMS_REGENERATE_FIXTURES") == "1"
_VOLATILE = {"last_updated", "lastUpdated", "device_id", "clinic_id", "token"}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def normalised(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: normalised(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return "<volatile>" if key in _VOLATILE and isinstance(value, str) else value


def check(name: str, actual: Any) -> None:
    if REGENERATE:
        (FIXTURES / name).write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    assert normalised(actual) == normalised(load(name)), name


def test_enrol_example_shapes() -> None:
    request, response = load("enrol_request.json"), load("enrol_response.json")
    assert set(request) == {"code", "device_name"}
    assert set(response) == {"device_id", "clinic_id", "clinic_name", "token", "token_type"}


def test_push_pull_digest_examples(client: TestClient, clinic_a: Tenant) -> None:
    headers = clinic_a.headers
    first = client.post("/sync/push", json=load("push_request.json"), headers=headers)
    check("push_response.json", first.json())
    replay = client.post("/sync/push", json=load("push_request.json"), headers=headers)
    assert replay.json() == first.json()
    second = client.post("/sync/push", json=load("push_conflict_request.json"), headers=headers)
    check("push_conflict_response.json", second.json())
    check("pull_response.json", client.get("/sync/pull?cursor=0&limit=3", headers=headers).json())
    check("pull_last_page_response.json",
          client.get("/sync/pull?cursor=3&limit=3", headers=headers).json())
    check("digest_response.json", client.get("/sync/digest", headers=headers).json())
    check("digest_type_response.json",
          client.get("/sync/digest/Patient", headers=headers).json())


def _entry_hash(entry: dict[str, Any]) -> str:
    fields = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_audit_examples(client: TestClient, clinic_a: Tenant) -> None:
    request = load("audit_upload_request.json")
    entries = request["entries"]
    assert entries[0]["prev_hash"] == "0" * 64
    for before, entry in zip([None, *entries], entries, strict=False):
        assert entry["hash"] == _entry_hash(entry)
        assert before is None or entry["prev_hash"] == before["hash"]
    response = client.post("/sync/audit", json=request, headers=clinic_a.headers)
    assert response.status_code == 200
    check("audit_upload_response.json", response.json())
    edited = json.loads(json.dumps(request))
    edited["entries"][1]["action"] = "delete"
    broken = client.post("/sync/audit", json=edited, headers=clinic_a.headers)
    assert broken.status_code == 422  # seq 2 no longer matches its hash
    check("audit_upload_refused_response.json", broken.json())


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_fixture_files_are_json(name: str) -> None:
    assert isinstance(load(name), dict)
