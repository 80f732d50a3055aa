"""The central access log: chain checks on upload (gap, edit, fork, rewritten tail), the
AuditEvents kept, the server's own chain, and ``admin audit verify``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from sync_server.audit.verify import verify_all
from sync_server.cli import main
from sync_server.store.models import AuditEntry, ServerAuditEntry
from tests.server.server_helpers import Tenant, db_of, patient

GENESIS = "0" * 64


def sealed(fields: dict[str, Any]) -> dict[str, Any]:
    """Hash an entry exactly as docs/sync-protocol.md says a workstation must."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**body, "hash": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def chain(count: int, *, start: int = 1, prev: str = GENESIS,
          user: str = "rita") -> list[dict[str, Any]]:
    entries = []
    for seq in range(start, start + count):
        entry = sealed({"seq": seq, "prev_hash": prev, "at": f"2024-05-01T10:00:{seq:02d}Z",
                        "user": user, "role": "reception", "action": "read",
                        "entity_type": "Patient", "entity_id": "p-1", "patient_id": "p-1",
                        "detail": "Chart opened — Zoë"})
        prev = entry["hash"]
        entries.append(entry)
    return entries


def upload(client: TestClient, tenant: Tenant, entries: list[dict[str, Any]]) -> Any:
    return client.post("/sync/audit", json={"entries": entries}, headers=tenant.headers)


def test_upload_in_parts_with_overlap(client: TestClient, clinic_a: Tenant) -> None:
    entries = chain(5)
    first = upload(client, clinic_a, entries[:3])
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "head": {"seq": 3, "hash": entries[2]["hash"]}}
    again = upload(client, clinic_a, entries[:3])  # the answer was lost; the client retries
    assert again.json()["accepted"] == 0
    rest = upload(client, clinic_a, entries[1:])
    assert rest.json() == {"accepted": 2, "head": {"seq": 5, "hash": entries[4]["hash"]}}
    events = client.get("/fhir/AuditEvent?patient=p-1", headers=clinic_a.headers).json()
    assert events["total"] == 5
    event = events["entry"][0]["resource"]
    assert event["action"] == "R" and event["agent"][0]["who"]["display"] == "rita"
    details = [d for e in event["entity"] for d in e.get("detail", [])]
    kept = json.loads(details[0]["valueString"])
    assert kept["hash"] == sealed(kept)["hash"]
    pulled = client.get("/sync/pull", headers=clinic_a.headers).json()
    assert pulled["changes"] == []  # the access log is not part of the sync feed


def test_gap_is_refused_naming_the_seq(client: TestClient, clinic_a: Tenant) -> None:
    entries = chain(6)
    assert upload(client, clinic_a, entries[:3]).status_code == 200
    gap = upload(client, clinic_a, entries[4:])
    assert gap.status_code == 409
    assert "seq 5" in gap.json()["issue"][0]["diagnostics"]
    inner_gap = upload(client, clinic_a, [entries[3], entries[5]])
    assert inner_gap.status_code == 422
    assert "seq 6" in inner_gap.json()["issue"][0]["diagnostics"]


def test_first_upload_must_start_at_genesis(client: TestClient, clinic_a: Tenant) -> None:
    response = upload(client, clinic_a, chain(3)[1:])
    assert response.status_code == 409
    assert "seq 2" in response.json()["issue"][0]["diagnostics"]


def test_edited_entry_is_refused(client: TestClient, clinic_a: Tenant) -> None:
    entries = chain(3)
    entries[1] = {**entries[1], "user": "mallory"}  # hash left as it was
    response = upload(client, clinic_a, entries)
    assert response.status_code == 422
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "seq 2" in diagnostics and "edited" in diagnostics


def test_fork_inside_upload_is_refused(client: TestClient, clinic_a: Tenant) -> None:
    entries = chain(3)
    entries[1] = sealed({**entries[1], "user": "mallory"})  # re-hashed, but seq 3 now dangles
    response = upload(client, clinic_a, entries)
    assert response.status_code == 422
    assert "seq 3" in response.json()["issue"][0]["diagnostics"]


def test_log_cut_back_and_rewritten_is_caught(client: TestClient, clinic_a: Tenant) -> None:
    original = chain(5)
    assert upload(client, clinic_a, original).status_code == 200
    rewritten = original[:3] + chain(3, start=4, prev=original[2]["hash"], user="mallory")
    tail_only = upload(client, clinic_a, rewritten[3:])
    assert tail_only.status_code == 409
    assert "seq 4" in tail_only.json()["issue"][0]["diagnostics"]
    whole = upload(client, clinic_a, rewritten)
    assert whole.status_code == 409
    beyond = upload(client, clinic_a, rewritten[5:])
    assert beyond.status_code == 409  # seq 6 does not follow the acknowledged head
    assert "seq 6" in beyond.json()["issue"][0]["diagnostics"]


def test_log_cut_back_without_new_entries_is_caught(client: TestClient, clinic_a: Tenant) -> None:
    """A workstation re-sends the entry at its acknowledged head with each upload and always
    reaches its log's last entry: an upload ending short of the head is a log cut back."""
    original = chain(5)
    assert upload(client, clinic_a, original).status_code == 200
    assert upload(client, clinic_a, original[4:]).json()["accepted"] == 0  # the anchor alone
    short = upload(client, clinic_a, original[2:3])  # untouched entries, but the log ends at 3
    assert short.status_code == 409
    assert "cut back" in short.json()["issue"][0]["diagnostics"]


def test_devices_have_separate_chains(client: TestClient, clinic_a: Tenant,
                                      new_tenant: Any) -> None:
    other = new_tenant("Clinic A2")
    assert upload(client, clinic_a, chain(2)).status_code == 200
    assert upload(client, other, chain(2, user="bob")).status_code == 200


@pytest.mark.parametrize("body", [{}, {"entries": []}, {"entries": [{"seq": "1"}]},
                                  {"entries": [{"seq": 1, "hash": "x", "prev_hash": GENESIS}]},
                                  {"entries": [{"seq": True, "hash": GENESIS,
                                                "prev_hash": GENESIS}]}])
def test_malformed_upload_is_400(client: TestClient, clinic_a: Tenant, body: Any) -> None:
    response = upload(client, clinic_a, body.get("entries")) if "entries" in body else \
        client.post("/sync/audit", json=body, headers=clinic_a.headers)
    assert response.status_code == 400


def test_server_logs_its_own_api_in_a_chain(client: TestClient, clinic_a: Tenant) -> None:
    made = client.post("/fhir/Patient", json=patient(), headers=clinic_a.headers).json()
    client.get(f"/fhir/Patient/{made['id']}", headers=clinic_a.headers)
    client.get("/fhir/Patient?name=smith", headers=clinic_a.headers)
    db = db_of(client)
    with db.read() as session:
        rows = [json.loads(r.entry) for r in session.query(ServerAuditEntry)
                .order_by(ServerAuditEntry.seq)]
    reads = [r for r in rows if r["interaction"] == "read"]
    assert reads and reads[0]["entities"] == [f"Patient/{made['id']}"]
    assert reads[0]["actor"] == f"device:{clinic_a.device_id}"
    assert all("smith" not in json.dumps(r).lower() for r in rows)  # no search values kept
    assert all(r["hash"] == sealed(r)["hash"] for r in rows)


def test_admin_audit_verify_finds_tampering(client: TestClient, clinic_a: Tenant,
                                            database_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert upload(client, clinic_a, chain(4)).status_code == 200
    client.get("/fhir/Patient", headers=clinic_a.headers)
    db = db_of(client)
    assert all(r.problem is None for r in verify_all(db))
    assert main(["admin", "audit", "verify", "--database-url", database_url]) == 0
    forged = sealed({**chain(4)[2], "user": "mallory"})
    with db.write() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(
            entry=json.dumps(forged), hash=forged["hash"]))
        session.execute(update(ServerAuditEntry).where(ServerAuditEntry.seq == 1).values(
            entry=json.dumps({"seq": 1, "tampered": True})))
    capsys.readouterr()
    assert main(["admin", "audit", "verify", "--database-url", database_url]) == 1
    captured = capsys.readouterr()
    assert "seq 4" in captured.out  # seq 3 re-hashed, so the link of seq 4 breaks
    assert "server access log" in captured.out and "BROKEN at seq 1" in captured.out
    assert "first bad entry" in captured.err


def _reanchor_allowed(tenant: Tenant, database_url: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["admin", "device-re-anchor", "--database-url", database_url, tenant.device_id,
                 "--reason", "restored"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == tenant.device_id


def test_a_restored_log_is_re_anchored_once_the_admin_allows_it(
        client: TestClient, clinic_a: Tenant, database_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Restored from a backup taken at seq 3 of 6 acknowledged, then grown to seq 5 anew: refused
    until the admin allows; then the fork (seq 3) is found by the server itself, the new entries
    are kept after it, the old ones stay, the chains verify, a second restore works too."""
    original = chain(6)
    assert upload(client, clinic_a, original).status_code == 200
    restored = original[:3] + chain(2, start=4, prev=original[2]["hash"], user="after-restore")
    refused = upload(client, clinic_a, restored[2:])  # anchored at its restored head, seq 3
    assert refused.status_code == 409 and "cut back" in refused.json()["issue"][0]["diagnostics"]

    assert main(["admin", "device-re-anchor", "--database-url", database_url,
                 "no-such-device"]) == 2
    _reanchor_allowed(clinic_a, database_url, capsys)
    # An upload that matches but stops short of the head (more follows) moves on, no re-anchor.
    partial = client.post("/sync/audit", json={"entries": original[:2], "last": False},
                          headers=clinic_a.headers)
    assert partial.json() == {"accepted": 0, "head": {"seq": 2, "hash": original[1]["hash"]}}
    done = upload(client, clinic_a, restored[2:])
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["accepted"] == 2 and body["head"] == {"seq": 5, "hash": restored[4]["hash"]}
    assert body["reanchored"]["fork_seq"] == 3
    # Normal service after it: the anchor again, then the next entry; the old tail is refused.
    grown = restored + chain(1, start=6, prev=restored[4]["hash"], user="after-restore")
    assert upload(client, clinic_a, grown[4:]).json()["accepted"] == 1
    assert upload(client, clinic_a, original[3:]).status_code == 409  # allowed once only

    db = db_of(client)
    with db.read() as session:
        held = {(r.device_id, r.seq): r.hash for r in session.query(AuditEntry)}
        server = [json.loads(r.entry) for r in session.query(ServerAuditEntry)
                  .order_by(ServerAuditEntry.seq)]
    assert all(held[(clinic_a.device_id, e["seq"])] == e["hash"] for e in original)  # all kept
    assert sum(1 for k in held if k[0] != clinic_a.device_id) == 3  # seqs 4-6 of the new stream
    steps = [e["interaction"] for e in server if "re-anchor" in str(e.get("interaction"))]
    assert steps == ["audit-re-anchor-allowed", "audit-re-anchored"]
    assert all(r.problem is None for r in verify_all(db))

    # Restored again, from further back (seq 2): a second stream, parting from the first.
    again = original[:2] + chain(1, start=3, prev=original[1]["hash"], user="second")
    assert upload(client, clinic_a, again[1:]).status_code == 409
    _reanchor_allowed(clinic_a, database_url, capsys)
    second = client.post("/sync/audit", json={"entries": again[1:], "last": True},
                         headers=clinic_a.headers)
    assert second.status_code == 200 and second.json()["reanchored"]["fork_seq"] == 2
    assert all(r.problem is None for r in verify_all(db))
    capsys.readouterr()
    assert main(["admin", "audit", "verify", "--database-url", database_url]) == 0
    assert "after its re-anchor at seq 2" in capsys.readouterr().out
