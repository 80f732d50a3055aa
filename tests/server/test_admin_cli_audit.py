"""Every ``pms-sync-server admin`` command leaves an entry in the server's own access chain:
who ran it, the command, its target and outcome, never a secret; a clinic's entries are also
its AuditEvents; ``admin audit verify`` covers them and finds one edited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from sync_server.cli import main
from sync_server.store.db import Database
from sync_server.store.models import ResourceVersion, ServerAuditEntry

PASSWORD = "correct horse battery"


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def _admin(database_url: str, *argv: str) -> int:
    words = 2 if argv[0] == "audit" else 1  # "audit verify" takes the store options last
    return main(["admin", *argv[:words], "--database-url", database_url, *argv[words:]])


def _cli_entries(database_url: str) -> list[dict[str, Any]]:
    db = Database(database_url)
    try:
        with db.read() as session:
            rows = session.execute(select(ServerAuditEntry.entry)
                                   .order_by(ServerAuditEntry.seq)).scalars().all()
    finally:
        db.dispose()
    return [e for e in map(json.loads, rows) if e.get("interaction") == "admin-cli"]


def _stored_text(database_url: str) -> str:
    """Everything the chain and the clinic store hold, to look for secrets in."""
    db = Database(database_url)
    try:
        with db.read() as session:
            chain = session.execute(select(ServerAuditEntry.entry)).scalars().all()
            events = session.execute(select(ResourceVersion.content).where(
                ResourceVersion.resource_type == "AuditEvent")).scalars().all()
    finally:
        db.dispose()
    return "\n".join([*chain, *(e or "" for e in events)])


def _run_every_command(database_url: str, client: TestClient, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("PMS_PASSWORD", PASSWORD)
    seen: dict[str, str] = {}
    assert _admin(database_url, "clinic-add", "Riverside") == 0
    seen["clinic"] = clinic = _last_line(capsys)
    assert _admin(database_url, "enrol-code", "--clinic", clinic) == 0
    seen["code"] = _last_line(capsys)
    enrolled = client.post("/sync/enrol", json={"code": seen["code"], "device_name": "Desk"})
    assert enrolled.status_code == 201, enrolled.text
    seen["device"] = enrolled.json()["device_id"]
    seen["device_token"] = enrolled.json()["token"]
    assert _admin(database_url, "system-client-add", "--clinic", clinic,
                  "--scope", "system/*.read", "hospital") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    seen["client"] = lines[-2].removeprefix("client_id=")
    seen["client_secret"] = lines[-1].removeprefix("client_secret=")
    assert _admin(database_url, "admin-add", "root") == 0
    seen["totp"] = _last_line(capsys)
    for listing in ("clinic-list", "device-list", "system-client-list"):
        assert _admin(database_url, listing) == 0
    assert _admin(database_url, "device-revoke", seen["device"]) == 0
    assert _admin(database_url, "enrol-code", "--clinic", "no-such-clinic") == 2
    assert _admin(database_url, "audit", "verify") == 0
    capsys.readouterr()
    return seen


def test_each_command_leaves_an_entry_without_secrets(
        database_url: str, client: TestClient, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _run_every_command(database_url, client, capsys, monkeypatch)
    entries = _cli_entries(database_url)
    assert [(e["command"], e["outcome"]) for e in entries] == [
        ("clinic-add", "done"), ("enrol-code", "done"), ("system-client-add", "done"),
        ("admin-add", "done"), ("clinic-list", "done"), ("device-list", "done"),
        ("system-client-list", "done"), ("device-revoke", "done"),
        ("enrol-code", "refused"), ("audit verify", "done")]
    by_command = {e["command"]: e for e in entries if e["outcome"] == "done"}
    assert all(e["actor"].startswith("cli:") and e["at"] for e in entries)
    assert by_command["clinic-add"]["clinic_id"] == seen["clinic"]
    assert by_command["enrol-code"]["clinic_id"] == seen["clinic"]
    assert by_command["system-client-add"]["client_id"] == seen["client"]
    assert by_command["admin-add"]["username"] == "root"
    revoke = by_command["device-revoke"]
    assert (revoke["device_id"], revoke["clinic_id"]) == (seen["device"], seen["clinic"])
    assert by_command["audit verify"]["intact"] is True
    assert entries[-2]["error"] == "unknown clinic"

    stored = _stored_text(database_url)
    for secret in (seen["code"], seen["client_secret"], seen["totp"], PASSWORD,
                   seen["device_token"]):
        assert secret not in stored

    # The clinic's entries are its AuditEvents, each carrying its chain entry verbatim.
    form = {"grant_type": "client_credentials", "client_id": seen["client"],
            "client_secret": seen["client_secret"]}
    token = client.post("/auth/token", data=form).json()["access_token"]
    bundle = client.get("/fhir/AuditEvent?_count=1000",
                        headers={"Authorization": f"Bearer {token}"}).json()
    mirrored = [json.loads(d["valueString"]) for e in bundle.get("entry", [])
                for ent in e["resource"]["entity"] for d in ent.get("detail", [])
                if json.loads(d["valueString"]).get("interaction") == "admin-cli"]
    assert [m["command"] for m in mirrored if m["clinic_id"] == seen["clinic"]] \
        and {m["command"] for m in mirrored} == {
            "clinic-add", "enrol-code", "system-client-add", "device-revoke"}
    assert {m["hash"] for m in mirrored} <= {e["hash"] for e in entries}


def test_an_edited_cli_entry_is_detected(
        database_url: str, client: TestClient, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _run_every_command(database_url, client, capsys, monkeypatch)
    revoke = next(e for e in _cli_entries(database_url) if e["command"] == "device-revoke")
    db = Database(database_url)
    try:
        with db.write() as session:  # someone hides who revoked the device
            session.execute(text("UPDATE server_audit SET entry = :e WHERE seq = :s"), {
                "e": json.dumps({**revoke, "actor": "cli:nobody"}), "s": revoke["seq"]})
    finally:
        db.dispose()
    assert _admin(database_url, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "server access log" in err and f"seq {revoke['seq']}" in err
    assert _cli_entries(database_url)[-1]["intact"] is False
