"""The sync fault tests again, with the server's store on PostgreSQL (long form only).

The same tests as ``test_sync_faults.py`` (random network faults, a push arriving twice at
once) and ``test_sync_server_crash.py`` (the server SIGKILLed at named points), against a
server whose store is a private schema of the PostgreSQL at 127.0.0.1:5432: the production
store, where concurrent writers serialise on row locks instead of SQLite's one writer, and a
killed server leaves PostgreSQL to roll back its open transaction. Run by the long form
(``PMS_RELIABILITY=long``; ``python -m tests.reliability.report --long``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from sync_server.store import migrate
from sync_server.store.db import Database
from tests.reliability.figures import LONG
from tests.sync.conftest import _free_port
from tests.sync.fault_support import KillableServer
from tests.sync.test_sync_faults import (  # noqa: F401 (collected here again, on PostgreSQL)
    pair,
    quick_transport,
    test_a_push_that_reaches_the_server_twice_at_once_is_applied_once,
    test_random_network_faults_lose_nothing_and_duplicate_nothing,
)
from tests.sync.test_sync_server_crash import (  # noqa: F401
    server,
    small_batches,
    test_server_killed_at_named_points_of_sync,
)

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.postgres,
              pytest.mark.skipif(not LONG, reason="the long form (PMS_RELIABILITY=long) only")]

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KillableServer]:
    name = f"pms_faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:  # noqa: BLE001 -- any connection failure means "not reachable"
        admin.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {type(exc).__name__}")
    port = _free_port()
    killable = KillableServer(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("pg-faults"),
                              port)
    killable.database_url = f"{PG_BASE}?options=-csearch_path%3D{name}"
    db = Database(killable.database_url)
    migrate.upgrade(db.engine)
    db.dispose()
    killable.start()
    try:
        yield killable
    finally:
        killable.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
