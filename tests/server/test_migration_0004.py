"""Migration 0004 keeps a store's search rows (numbered per resource in the order they were
written) and what search finds with them; on PostgreSQL it drops the clinic foreign keys of
the tables a push fills, whose guarantee the writer's clinic lock keeps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from sync_server.auth.principal import Principal
from sync_server.errors import NotFound
from sync_server.fhir.search_query import parse_search
from sync_server.store import migrate
from sync_server.store.db import Database
from sync_server.store.resources import ResourceWriter
from sync_server.store.search import search
from sync_server.sync.push import push
from tests.server.server_helpers import patient, store_at


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty store at revision 0003."""
    with store_at(request.param, tmp_path, "0003") as db:
        yield db


def _names(db: Database, clinic: str, query: str) -> set[str]:
    with db.read() as session:
        _total, found = search(session, clinic, "Patient", parse_search(
            "Patient", [tuple(query.split("=", 1))], count_max=100))  # type: ignore[list-item]
    return {stored.resource_id for stored in found}


def test_search_rows_are_kept_and_numbered(old_store: Database) -> None:
    db = old_store
    with db.write() as session:
        session.execute(text("INSERT INTO clinics (id, name, created_at, change_seq) "
                             "VALUES ('c1', 'Clinic', 'x', 2), ('c2', 'Other', 'x', 0)"))
        for rid, family in (("p1", "Quill"), ("p2", "Quintero")):
            session.execute(text(
                "INSERT INTO resources (clinic_id, resource_type, resource_id, version, "
                "deleted, last_updated, content) VALUES ('c1', 'Patient', :rid, 1, false, "
                "'2026-01-01T00:00:00.000000Z', :content)"),
                {"rid": rid, "content": f'{{"resourceType":"Patient","id":"{rid}",'
                                        f'"name":[{{"family":"{family}"}}]}}'})
        # Interleaved as two resources saved in one transaction could leave them.
        rows = [("p1", "name", "quill"), ("p2", "name", "quintero"), ("p1", "gender", "male"),
                ("p2", "gender", "female"), ("p1", "name", "oona")]
        for rid, param, value in rows:
            session.execute(text(
                "INSERT INTO search_index (clinic_id, resource_type, resource_id, param, text)"
                " VALUES ('c1', 'Patient', :rid, :param, :value)"),
                {"rid": rid, "param": param, "value": value})
    before = {q: _names(db, "c1", q) for q in ("name=qui", "name=oona", "gender=female")}
    assert before == {"name=qui": {"p1", "p2"}, "name=oona": {"p1"}, "gender=female": {"p2"}}

    migrate.upgrade(db.engine)

    with db.read() as session:
        kept = session.execute(text(
            "SELECT resource_id, ordinal, param, text FROM search_index "
            "ORDER BY resource_id, ordinal")).all()
    assert [tuple(r) for r in kept] == [
        ("p1", 0, "name", "quill"), ("p1", 1, "gender", "male"), ("p1", 2, "name", "oona"),
        ("p2", 0, "name", "quintero"), ("p2", 1, "gender", "female")]
    assert {q: _names(db, "c1", q) for q in before} == before
    # An update replaces the resource's rows; new resources are numbered from 0.
    device = Principal("device", "d1", "c1")
    results = push(db, device, {"changes": [
        {"change_id": str(uuid.uuid4()), "resource_type": "Patient", "resource_id": rid,
         "op": "upsert", "base_version": base, "resource": patient(family, id=rid)}
        for rid, base, family in (("p1", "1", "Rowe"), ("p3", None, "Quinn"))]},
        max_changes=10)["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert _names(db, "c1", "name=qui") == {"p2", "p3"}
    assert _names(db, "c1", "name=rowe") == {"p1"}


def test_clinic_keys_on_postgres_are_kept_by_the_writer(old_store: Database) -> None:
    db = old_store
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        keys = {t: inspect(conn).get_foreign_keys(t)
                for t in ("resources", "resource_versions", "sync_changes")}
    if db.engine.dialect.name == "postgresql":
        assert keys == {"resources": [], "resource_versions": [], "sync_changes": []}
    else:
        assert all(len(k) == 1 for k in keys.values())
    # Nothing can be written for a clinic that does not exist.
    with pytest.raises(NotFound), db.write() as session:
        ResourceWriter(session, "no-such-clinic")
    with pytest.raises(NotFound):
        push(db, Principal("device", "d1", "no-such-clinic"), {"changes": [
            {"change_id": str(uuid.uuid4()), "resource_type": "Patient", "resource_id": "p9",
             "op": "upsert", "base_version": None, "resource": patient(id="p9")}]},
            max_changes=10)
    with db.read() as session:
        counts = [session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("resources", "resource_versions", "sync_changes", "search_index")]
    assert counts == [0, 0, 0, 0]


def test_downgrade_keeps_the_rows(old_store: Database) -> None:
    db = old_store
    migrate.upgrade(db.engine)
    with db.write() as session:
        session.execute(text("INSERT INTO clinics (id, name, created_at, change_seq) "
                             "VALUES ('c1', 'Clinic', 'x', 0)"))
    push(db, Principal("device", "d1", "c1"), {"changes": [
        {"change_id": str(uuid.uuid4()), "resource_type": "Patient", "resource_id": "p1",
         "op": "upsert", "base_version": None, "resource": patient("Quill", "Oona", id="p1")}]},
        max_changes=10)
    config = migrate._config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    with db.read() as session:
        rows = session.execute(text(
            "SELECT id, param, text FROM search_index ORDER BY id")).all()
    assert [(r[1], r[2]) for r in rows] == [("name", "quill"), ("name", "oona")]
    assert _names(db, "c1", "name=oona") == {"p1"}
