"""Migration 0005: on PostgreSQL a resource's search rows are found through a hash index of
their resource id instead of the primary key; what search finds, and the replacement of a
resource's rows when it changes, are the same; downgrading brings the key back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from sync_server.auth.principal import Principal
from sync_server.fhir.search_query import parse_search
from sync_server.store import migrate
from sync_server.store.db import Database
from sync_server.store.search import search
from sync_server.sync.push import push
from tests.server.server_helpers import patient, store_at


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A store at revision 0004 holding a clinic with two patients."""
    with store_at(request.param, tmp_path, "0004") as db:
        with db.write() as session:
            session.execute(text("INSERT INTO clinics (id, name, created_at, change_seq) "
                                 "VALUES ('c1', 'Clinic', 'x', 0)"))
        _push(db, ("p1", None, "Quill"), ("p2", None, "Quintero"))
        yield db


def _migrate(db: Database, how: str, revision: str) -> None:
    config = migrate._config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, how)(config, revision)


def _push(db: Database, *changes: tuple[str, str | None, str]) -> None:
    results = push(db, Principal("device", "d1", "c1"), {"changes": [
        {"change_id": str(uuid.uuid4()), "resource_type": "Patient", "resource_id": rid,
         "op": "upsert", "base_version": base, "resource": patient(family, id=rid)}
        for rid, base, family in changes]}, max_changes=10)["results"]
    assert [r["status"] for r in results] == ["applied"] * len(changes)


def _names(db: Database, query: str) -> set[str]:
    with db.read() as session:
        _total, found = search(session, "c1", "Patient", parse_search(
            "Patient", [tuple(query.split("=", 1))], count_max=100))  # type: ignore[list-item]
    return {stored.resource_id for stored in found}


def _owner_lookup(db: Database) -> tuple[list[str], list[str]]:
    """The search table's primary key columns, and its indexes' names."""
    with db.engine.connect() as conn:
        inspector = inspect(conn)
        key = inspector.get_pk_constraint("search_index")["constrained_columns"]
        return key, sorted(str(i["name"]) for i in inspector.get_indexes("search_index"))


def test_search_and_updates_work_the_same_after_it(store_at_0004: Database) -> None:
    db = store_at_0004
    assert _names(db, "name=qui") == {"p1", "p2"}
    migrate.upgrade(db.engine)
    key, indexes = _owner_lookup(db)
    if db.engine.dialect.name == "postgresql":
        assert key == [] and indexes == ["ix_search_owner_hash", "ix_search_value"]
    else:
        assert key == ["clinic_id", "resource_type", "resource_id", "ordinal"]
    assert _names(db, "name=qui") == {"p1", "p2"}
    _push(db, ("p1", "1", "Rowe"), ("p3", None, "Quinn"))  # p1's old rows are replaced
    assert _names(db, "name=qui") == {"p2", "p3"}
    assert _names(db, "name=rowe") == {"p1"}
    with db.read() as session:
        p1_rows = session.execute(text(
            "SELECT ordinal, param, text FROM search_index WHERE resource_id = 'p1' "
            "ORDER BY ordinal")).all()
    assert [tuple(r) for r in p1_rows] == [(0, "name", "rowe"), (1, "name", "jo")]


def test_downgrade_brings_the_key_back(store_at_0004: Database) -> None:
    db = store_at_0004
    migrate.upgrade(db.engine)
    _push(db, ("p3", None, "Quinn"))
    _migrate(db, "downgrade", "0004")
    key, indexes = _owner_lookup(db)
    assert key == ["clinic_id", "resource_type", "resource_id", "ordinal"]
    assert "ix_search_owner_hash" not in indexes
    assert _names(db, "name=qui") == {"p1", "p2", "p3"}
