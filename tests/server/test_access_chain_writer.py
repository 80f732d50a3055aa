"""The access middleware's chain writes: nothing leaves unaudited, entries of requests that finish
together are linked in one chain, one entry each, and a failed write fails only its requests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sync_server.api.middleware import ChainWriter
from sync_server.audit import server_log
from sync_server.audit.verify import verify_all
from sync_server.errors import Unavailable
from sync_server.store.db import Database
from sync_server.store.models import ServerAuditEntry
from tests.server.server_helpers import Tenant, db_of, patient


def _chain(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        return [json.loads(r.entry) for r in session.query(ServerAuditEntry)
                .order_by(ServerAuditEntry.seq)]


def test_an_answer_whose_audit_cannot_be_written_is_a_503_without_the_data(
        client: TestClient, clinic_a: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    made = client.post("/fhir/Patient", json=patient(family="Quarantined"),
                       headers=clinic_a.headers)
    assert made.status_code == 201
    assert made.headers["X-Request-Id"]

    def broken(*_args: Any) -> list[int]:
        raise Unavailable("the store is busy or unreachable; retry later")

    monkeypatch.setattr(server_log, "append_many", broken)
    read = client.get(f"/fhir/Patient/{made.json()['id']}", headers=clinic_a.headers)
    assert read.status_code == 503
    assert "Quarantined" not in read.text
    assert read.json()["resourceType"] == "OperationOutcome"
    assert read.headers["X-Request-Id"]
    monkeypatch.undo()
    again = client.get(f"/fhir/Patient/{made.json()['id']}", headers=clinic_a.headers)
    assert again.status_code == 200 and "Quarantined" in again.text
    reads = [e for e in _chain(db_of(client)) if e["interaction"] == "read"]
    assert [e["request_id"] for e in reads] == [again.headers["X-Request-Id"]]
    assert all(r.problem is None for r in verify_all(db_of(client)))


def test_entries_written_together_form_one_intact_chain(client: TestClient) -> None:
    db = db_of(client)
    before = len(_chain(db))

    async def many() -> list[int]:
        writer = ChainWriter(db)
        return list(await asyncio.gather(*[
            writer.append({"interaction": "test", "n": n}) for n in range(60)]))

    seqs = asyncio.run(many())
    assert sorted(seqs) == list(range(before + 1, before + 61))
    entries = _chain(db)[before:]
    assert sorted(e["n"] for e in entries) == list(range(60))
    assert {e["seq"]: e["n"] for e in entries} == dict(zip(seqs, range(60), strict=True))
    assert all(r.problem is None for r in verify_all(db))


def test_a_failed_write_fails_its_requests_only(client: TestClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    db = db_of(client)
    real = server_log.append_many
    calls: list[int] = []

    def first_fails(database: Database, many: list[dict[str, Any]]) -> list[int]:
        calls.append(len(many))
        if len(calls) == 1:
            raise Unavailable("the store is busy or unreachable; retry later")
        return real(database, many)

    monkeypatch.setattr(server_log, "append_many", first_fails)

    async def run() -> tuple[list[Any], int]:
        writer = ChainWriter(db)
        first = asyncio.gather(writer.append({"n": 0}), return_exceptions=True)
        await asyncio.sleep(0)  # the first write has started: these wait for the next one
        rest = await asyncio.gather(*[writer.append({"n": n}) for n in range(1, 5)],
                                    return_exceptions=True)
        return [*(await first), *rest], len(calls)

    results, writes = asyncio.run(run())
    assert isinstance(results[0], Unavailable)
    assert all(isinstance(r, int) for r in results[1:])
    assert writes == 2 and calls == [1, 4]
    assert sorted(e["n"] for e in _chain(db) if "n" in e) == [1, 2, 3, 4]
    assert all(r.problem is None for r in verify_all(db))


def test_a_chain_write_the_driver_refuses_is_a_503(client: TestClient, clinic_a: Tenant,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL appends through the driver itself (psycopg's pipeline): an error it raises
    there (the head row busy, say) is the same 503 "retry later" as one raised through
    SQLAlchemy, never a 500, and the data does not leave."""
    db = db_of(client)
    if db.is_sqlite:
        pytest.skip("the pipelined append is PostgreSQL's")
    made = client.post("/fhir/Patient", json=patient(family="Pipelined"),
                       headers=clinic_a.headers)
    assert made.status_code == 201
    # The head row held by another transaction, and the append told not to wait for it.
    monkeypatch.setattr(server_log, "_TAKE_SQL", (
        "UPDATE server_audit_head SET seq = seq + %s WHERE id = (SELECT id FROM "
        "server_audit_head WHERE id = 1 FOR UPDATE NOWAIT) RETURNING seq, hash"))
    with db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM server_audit_head WHERE id = 1 FOR UPDATE"))
        read = client.get(f"/fhir/Patient/{made.json()['id']}", headers=clinic_a.headers)
        holder.rollback()
    assert read.status_code == 503, read.text
    assert read.json()["resourceType"] == "OperationOutcome"
    assert "Pipelined" not in read.text
    again = client.get(f"/fhir/Patient/{made.json()['id']}", headers=clinic_a.headers)
    assert again.status_code == 200 and "Pipelined" in again.text
    assert all(r.problem is None for r in verify_all(db))
