"""Fixtures of the server suite: the same tests on SQLite and on the real PostgreSQL.

SQLite: a store migrated once per session, copied per test. PostgreSQL (127.0.0.1:5432, user
postgres, database ``test``): a uniquely named schema per session, migrated once, emptied before
each test and dropped at the end. When PostgreSQL is unreachable its tests skip, unless ``CI``
is set: then they fail, so that CI cannot pass without it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from sync_server.app import create_app
from sync_server.auth import tenancy
from sync_server.settings import Settings
from sync_server.store import migrate
from sync_server.store.db import Database
from sync_server.store.models import Base

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from fastapi.testclient import TestClient  # noqa: E402  (after the warning filter)

from tests.server.server_helpers import (  # noqa: E402
    PG_BASE,
    Tenant,
    db_of,
    enrol_device,
    make_settings,
    pg_schema_named,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings",
                            "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="session")
def fast_dir() -> Iterator[Path]:
    """A scratch folder on tmpfs when there is one: fsync costs nothing there."""
    shm = "/dev/shm"  # noqa: S108 -- a private mkdtemp folder inside it
    root = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="pms-server-tests-", dir=root))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(fast_dir: Path) -> Path:
    path = fast_dir / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


@dataclass
class PgSchema:
    url: str
    engine: Engine
    database: Database


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[PgSchema]:
    with pg_schema_named("pms_srv") as name:
        # Commits need not wait for the disk in tests (a session setting, the server is
        # untouched).
        url = f"{PG_BASE}?options=-csearch_path%3D{name}%20-csynchronous_commit%3Doff"
        database = Database(url)
        migrate.upgrade(database.engine)
        yield PgSchema(url, database.engine, database)
        database.dispose()


def _empty(engine: Engine) -> None:
    # DELETE is cheaper than TRUNCATE on tables this small.
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(text("INSERT INTO server_audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                     {"h": "0" * 64})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, fast_dir: Path) -> str:
    if request.param == "sqlite":
        target = fast_dir / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    schema: PgSchema = request.getfixturevalue("pg_schema")
    _empty(schema.engine)
    return schema.url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def shared_database(database_url: str, request: pytest.FixtureRequest) -> Database | None:
    """The session's PostgreSQL pool (new connections cost more than the tests), else None."""
    if database_url.startswith("postgresql"):
        schema: PgSchema = request.getfixturevalue("pg_schema")
        return schema.database
    return None


@pytest.fixture
def client(settings: Settings, shared_database: Database | None) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=shared_database)) as test_client:
        yield test_client


@pytest.fixture
def new_tenant(client: TestClient) -> Callable[[str], Tenant]:
    def make(name: str = "Clinic") -> Tenant:
        return enrol_device(client, tenancy.add_clinic(db_of(client), name))
    return make


@pytest.fixture
def clinic_a(new_tenant: Callable[[str], Tenant]) -> Tenant:
    return new_tenant("Clinic A")


@pytest.fixture
def clinic_b(new_tenant: Callable[[str], Tenant]) -> Tenant:
    return new_tenant("Clinic B")
