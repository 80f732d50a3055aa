"""Migration 0005 partitions the tables a push fills by clinic on PostgreSQL, keeping every row
(so search, replays and the pull's feed go on as before), and its downgrade puts them back
whole. SQLite stores are not touched by it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from sync_server.auth.principal import Principal
from sync_server.fhir.search_query import parse_search
from sync_server.store import migrate
from sync_server.store.db import Database
from sync_server.store.search import search
from sync_server.sync.pull import pull
from sync_server.sync.push import push
from tests.server.server_helpers import PG_BASE, patient, pg_schema_named

pytestmark = pytest.mark.postgres

TABLES = ("resources", "resource_versions", "sync_changes", "search_index")


@pytest.fixture
def store_at_0004() -> Iterator[Database]:
    """An empty PostgreSQL store (a schema of its own) at revision 0004."""
    with pg_schema_named("pms_mig") as name:
        db = Database(f"{PG_BASE}?options=-csearch_path%3D{name}")
        try:
            _migrate(db, "0004")
            yield db
        finally:
            db.dispose()


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    config = migrate._config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _change(rid: str, family: str, base: str | None = None) -> dict[str, Any]:
    return {"change_id": str(uuid.uuid4()), "resource_type": "Patient", "resource_id": rid,
            "op": "upsert", "base_version": base, "resource": patient(family, "Oona", id=rid)}


def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.read() as session:
        return {t: sorted(tuple(r) for r in session.execute(text(f"SELECT * FROM {t}")))
                for t in TABLES}


def _partitioned(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.execute(text(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace")).scalars())


def _names(db: Database, clinic: str, query: str) -> set[str]:
    with db.read() as session:
        _total, found = search(session, clinic, "Patient", parse_search(
            "Patient", [tuple(query.split("=", 1))], count_max=100))  # type: ignore[list-item]
    return {stored.resource_id for stored in found}


def _filled(db: Database) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Two clinics' patients, one of them updated; returns a replayable change and its
    first answers."""
    with db.write() as session:
        session.execute(text("INSERT INTO clinics (id, name, created_at, change_seq) "
                             "VALUES ('c1', 'Clinic', 'x', 0), ('c2', 'Other', 'x', 0)"))
    first = _change("p1", "Quill")
    answers = push(db, Principal("device", "d1", "c1"), {"changes": [
        first, _change("p2", "Quintero"), _change("p3", "Rowe")]}, max_changes=10)["results"]
    push(db, Principal("device", "d1", "c1"), {"changes": [_change("p2", "Quirke", "1")]},
         max_changes=10)
    push(db, Principal("device", "d2", "c2"), {"changes": [_change("p1", "Walsh")]},
         max_changes=10)
    return first, answers


def test_rows_are_kept_each_clinic_in_a_partition(store_at_0004: Database) -> None:
    db = store_at_0004
    first, answers = _filled(db)
    before = _rows(db)
    feed = pull(db, "c1", cursor=0, limit=100).body
    assert _partitioned(db) == set()

    migrate.upgrade(db.engine)

    assert _partitioned(db) == set(TABLES)
    assert _rows(db) == before
    with db.read() as session:
        for table in TABLES:  # a clinic's rows, and their index entries, in one partition
            for clinic in ("c1", "c2"):
                places = session.execute(text(
                    f"SELECT count(DISTINCT tableoid) FROM {table} WHERE clinic_id = :c"),
                    {"c": clinic}).scalar_one()
                assert places == 1, (table, clinic)
    # The clinic's feed, search and the replay of a recorded change are as before.
    assert pull(db, "c1", cursor=0, limit=100).body == feed
    assert _names(db, "c1", "name=qui") == {"p1", "p2"}
    assert _names(db, "c2", "name=walsh") == {"p1"}
    assert push(db, Principal("device", "d1", "c1"), {"changes": [first]},
                max_changes=10)["results"] == answers[:1]
    # And new writes go on: an update replaces its search rows, a version is added.
    push(db, Principal("device", "d1", "c1"), {"changes": [_change("p1", "Byrne", "1")]},
         max_changes=10)
    assert _names(db, "c1", "name=qui") == {"p2"}
    assert _names(db, "c1", "name=byrne") == {"p1"}


def test_downgrade_makes_the_tables_whole_with_their_rows(store_at_0004: Database) -> None:
    db = store_at_0004
    migrate.upgrade(db.engine)
    _filled(db)
    before = _rows(db)

    _migrate(db, "0004", down=True)

    assert _partitioned(db) == set()
    assert _rows(db) == before
    assert _names(db, "c1", "name=qui") == {"p1", "p2"}
