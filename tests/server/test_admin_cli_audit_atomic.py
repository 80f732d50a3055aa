"""A ``pms-sync-server admin`` command that changes something writes its audit entry in the
same transaction as the change: when the entry cannot be written (a crash, a lock timeout, a
lost connection), the change is not committed either, nothing is printed, and the command
fails with a clear message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sync_server.audit import server_log
from sync_server.cli import main
from sync_server.store.db import Database
from sync_server.store.models import Admin, Clinic, EnrolmentCode, ServerAuditEntry, SystemClient

PASSWORD = "correct horse battery"  # noqa: S105 (a test password)


def _admin(database_url: str, *argv: str) -> int:
    return main(["admin", argv[0], "--database-url", database_url, *argv[1:]])


@pytest.fixture
def store(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def _count(db: Database, query: Any) -> int:
    with db.read() as session:
        return int(session.execute(query).scalar_one())


def _entries(db: Database) -> list[str]:
    """The commands of the admin command line's entries in the server's chain."""
    with db.read() as session:
        rows = session.execute(select(ServerAuditEntry.entry)
                               .order_by(ServerAuditEntry.seq)).scalars().all()
    return [e["command"] for e in map(json.loads, rows) if e.get("interaction") == "admin-cli"]


def _break_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(session: Any, fields: dict[str, Any]) -> int:
        session.flush()  # the change is in the transaction when the entry fails
        raise OperationalError("append", {}, Exception("database is locked"))
    monkeypatch.setattr(server_log, "append_in", refuse)


def _failed_clearly(capsys: pytest.CaptureFixture[str], command: str, *secret: str) -> None:
    out, err = capsys.readouterr()
    assert out == ""  # no id, code or secret shown for a change that did not happen
    assert f"error: {command} not done" in err and "nothing was changed" in err
    assert "Traceback" not in err
    assert not any(s and s in out + err for s in secret)


def test_no_change_commits_without_its_entry(
        database_url: str, store: Database, client: TestClient,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMS_PASSWORD", PASSWORD)
    assert _admin(database_url, "clinic-add", "Riverside") == 0
    clinic = capsys.readouterr().out.strip().splitlines()[-1]
    assert _admin(database_url, "enrol-code", "--clinic", clinic) == 0
    code = capsys.readouterr().out.strip().splitlines()[-1]
    enrolled = client.post("/sync/enrol", json={"code": code, "device_name": "Desk"})
    assert enrolled.status_code == 201, enrolled.text
    device, token = enrolled.json()["device_id"], enrolled.json()["token"]
    assert _admin(database_url, "system-client-add", "--clinic", clinic,
                  "--scope", "system/*.read", "hospital") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    client_id = lines[-2].removeprefix("client_id=")
    secret = lines[-1].removeprefix("client_secret=")
    before = _entries(store)

    _break_the_log(monkeypatch)
    assert _admin(database_url, "device-revoke", device) == 2
    _failed_clearly(capsys, "device-revoke")
    assert _admin(database_url, "system-client-revoke", client_id) == 2
    _failed_clearly(capsys, "system-client-revoke")
    assert _admin(database_url, "clinic-add", "Lakeside") == 2
    _failed_clearly(capsys, "clinic-add")
    assert _admin(database_url, "enrol-code", "--clinic", clinic) == 2
    _failed_clearly(capsys, "enrol-code")
    assert _admin(database_url, "admin-add", "root") == 2
    _failed_clearly(capsys, "admin-add", PASSWORD)
    assert _admin(database_url, "system-client-add", "--clinic", clinic,
                  "--scope", "system/*.write", "lab") == 2
    _failed_clearly(capsys, "system-client-add")
    monkeypatch.undo()

    # Nothing changed: the device and the client still work, nothing new exists, and the chain
    # holds no entry of a change that was not made.
    assert client.get("/sync/pull?since=0", headers={"Authorization": f"Bearer {token}"}) \
        .status_code == 200
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    assert client.post("/auth/token", data=form).status_code == 200
    assert _count(store, select(func.count()).select_from(Clinic)
                  .where(Clinic.name == "Lakeside")) == 0
    assert _count(store, select(func.count()).select_from(Admin)) == 0
    assert _count(store, select(func.count()).select_from(SystemClient)
                  .where(SystemClient.name == "lab")) == 0
    assert _count(store, select(func.count()).select_from(EnrolmentCode)
                  .where(EnrolmentCode.used_at.is_(None))) == 0
    assert _entries(store) == before

    # With the log writable again the same command does its work and leaves its entry.
    assert _admin(database_url, "device-revoke", device) == 0
    assert client.get("/sync/pull?since=0", headers={"Authorization": f"Bearer {token}"}) \
        .status_code == 401
    assert _entries(store) == [*before, "device-revoke"]
