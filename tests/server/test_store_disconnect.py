"""A PostgreSQL connection the server holds in its pool is killed (a database restart, an admin's
``pg_terminate_backend``, an idle timeout): no user ever gets a 500. A connection that died while
idle is found before use and replaced (the request succeeds); one killed between two requests
of a busy worker costs at most one clean 503 "retry later", and the next request succeeds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sync_server.app import create_app
from sync_server.auth import tenancy
from sync_server.store import db as store_db
from tests.server.conftest import PgSchema
from tests.server.server_helpers import Tenant, db_of, enrol_device, make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_pool_client(pg_schema: PgSchema) -> Iterator[TestClient]:
    """A server with a pool of its own (the suite's shared pool must not lose connections)."""
    from tests.server.conftest import _empty
    _empty(pg_schema.engine)
    with TestClient(create_app(make_settings(pg_schema.url))) as client:
        yield client


def _kill_pooled_connections(client: TestClient, pg_schema: PgSchema) -> int:
    """Terminate every connection idle in the server's pool; wait until they are gone."""
    engine = db_of(client).engine
    held = [engine.connect() for _ in range(engine.pool.checkedin())]  # type: ignore[attr-defined]
    pids = [int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in held]
    for connection in held:
        connection.rollback()
        connection.close()  # back to the pool, still believed good
    with pg_schema.engine.begin() as admin:
        for pid in pids:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with pg_schema.engine.begin() as admin:
            alive = admin.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                                  {"p": pids}).scalar_one()
        if not alive:
            return len(pids)
        time.sleep(0.05)
    raise AssertionError("terminated backends still alive after 10 s")


def _pull(client: TestClient, tenant: Tenant) -> int:
    response = client.get("/sync/pull", headers=tenant.headers)
    if response.status_code == 503:
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert "retry" in body["issue"][0]["diagnostics"]
    return response.status_code


def test_connections_killed_while_busy_cost_at_most_one_clean_503(
        own_pool_client: TestClient, pg_schema: PgSchema,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 3600.0)  # no idle check: the busy case
    client = own_pool_client
    tenant = enrol_device(client, tenancy.add_clinic(db_of(client), "Clinic"))
    assert _pull(client, tenant) == 200
    assert _kill_pooled_connections(client, pg_schema) >= 1
    first = _pull(client, tenant)
    assert first in (200, 503)
    assert _pull(client, tenant) == 200
    assert _pull(client, tenant) == 200


def test_connections_killed_while_idle_are_replaced_before_use(
        own_pool_client: TestClient, pg_schema: PgSchema,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 0.0)  # every pooled connection "idle"
    client = own_pool_client
    tenant = enrol_device(client, tenancy.add_clinic(db_of(client), "Clinic"))
    assert _pull(client, tenant) == 200
    assert _kill_pooled_connections(client, pg_schema) >= 1
    assert _pull(client, tenant) == 200
    assert _pull(client, tenant) == 200
