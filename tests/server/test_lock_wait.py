"""A push that meets its clinic's lock held by someone else (another worker's push that does not
end, an admin's psql session left open in a transaction) waits for it a bounded time, then is
answered 503 "retry later" with an OperationOutcome, having stored nothing; the push goes
through once the lock is let go. On SQLite the bound is the busy timeout; on PostgreSQL it is
``lock_timeout``, without which such a push waited for ever, holding its slot and its clinic's
turn."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sync_server.app import create_app
from sync_server.store.db import Database
from sync_server.store.resources import ResourceWriter
from tests.server.conftest import PgSchema
from tests.server.server_helpers import Tenant, make_settings, patient

LOCK_WAIT = 0.5


@pytest.fixture
def store(database_url: str) -> Iterator[Database]:
    database = Database(database_url, lock_wait=LOCK_WAIT)
    yield database
    database.dispose()


@pytest.fixture
def client(database_url: str, store: Database) -> Iterator[TestClient]:
    """The server on a pool of its own that waits ``LOCK_WAIT`` seconds for a lock."""
    with TestClient(create_app(make_settings(database_url), database=store)) as test_client:
        yield test_client


def _push(client: TestClient, tenant: Tenant, pid: str, change_id: str) -> httpx.Response:
    change = {"change_id": change_id, "resource_type": "Patient", "resource_id": pid,
              "op": "upsert", "base_version": None,
              "resource": patient("Lockwood", id=pid)}
    return client.post("/sync/push", json={"changes": [change]}, headers=tenant.headers)


def test_a_push_behind_a_held_clinic_lock_is_a_503_after_the_wait(
        client: TestClient, clinic_a: Tenant, database_url: str) -> None:
    pid, change_id = str(uuid.uuid4()), str(uuid.uuid4())
    holder = Database(database_url)  # the one holding the lock: another worker, say
    answers: list[httpx.Response] = []
    try:
        with holder.write() as session:
            ResourceWriter(session, clinic_a.clinic_id)  # takes the clinic's lock
            started = time.monotonic()
            pushing = threading.Thread(
                target=lambda: answers.append(_push(client, clinic_a, pid, change_id)),
                daemon=True)
            pushing.start()
            pushing.join(timeout=20)  # unbounded, it would wait here for as long as we hold
            waited = time.monotonic() - started
            held_to_the_end = pushing.is_alive()
        pushing.join(timeout=20)
    finally:
        holder.dispose()
    assert not held_to_the_end, "the push waited for the lock for more than 20 s"
    assert LOCK_WAIT * 0.8 <= waited < 10, waited
    refused, = answers
    assert refused.status_code == 503, refused.text
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "retry" in outcome["issue"][0]["diagnostics"]
    assert client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers).status_code == 404

    retried = _push(client, clinic_a, pid, change_id)
    assert retried.status_code == 200, retried.text
    assert retried.json()["results"][0]["status"] == "applied"
    read = client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers)
    assert read.status_code == 200 and read.json()["name"][0]["family"] == "Lockwood"


@pytest.mark.postgres
def test_postgres_connections_carry_the_lock_wait_and_keepalives(pg_schema: PgSchema) -> None:
    database = Database(pg_schema.url, lock_wait=2.5)
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "2500ms"
            # The URL's own options still apply (the suite's schema is in its search_path).
            assert "pms_srv" in conn.execute(text("SHOW search_path")).scalar_one()
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert params["keepalives_idle"] == "30"
    finally:
        database.dispose()


@pytest.mark.postgres
def test_the_admins_own_settings_win(pg_schema: PgSchema) -> None:
    """A lock_timeout the URL's options set, and libpq settings the URL gives, are kept."""
    url = (pg_schema.url.replace("?options=", "?options=-clock_timeout%3D5s%20", 1)
           + "&keepalives_idle=120")
    database = Database(url, lock_wait=2.5)
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "5s"
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert params["keepalives_idle"] == "120" and params["keepalives_count"] == "3"
    finally:
        database.dispose()


@pytest.mark.postgres
def test_an_admins_unbounded_lock_wait_is_kept(pg_schema: PgSchema) -> None:
    """``lock_timeout=0`` in the URL's options (wait as long as it takes) is the admin's choice
    too, not a connection that set nothing: it is not bounded to ``lock_wait``."""
    url = pg_schema.url.replace("?options=", "?options=-clock_timeout%3D0%20", 1)
    assert url != pg_schema.url
    database = Database(url, lock_wait=2.5)
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "0"
    finally:
        database.dispose()
