"""The sync figures of DESIGN.md's budget: the client's (``sync_client``) and the server's
(``sync_server``), against the real server process: one on SQLite (the client figures, then
the SQLite ingest on other clinics of it), one on PostgreSQL with two workers (ingest, then 20
clinics at once). Scratch files go to a folder under the bench cache, removed afterwards;
PostgreSQL gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import sync_client, sync_env, sync_server
from .harness import Figure


def measure(demo_dir: Path, cache: Path, *, quick: bool) -> list[Figure]:
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sync-", dir=cache))
    client_scale = sync_client.QUICK if quick else sync_client.FULL
    server_scale = sync_server.QUICK if quick else sync_server.FULL
    try:
        with sync_env.sqlite_store(work) as store:
            sync_env.migrate(store.url)
            with sync_env.running_server(store.url) as server:
                client = sync_client.measure(demo_dir, work / "client", client_scale, store,
                                             server, keep_resources=server_scale.ingest)
                figures = [*client.figures, sync_server.ingest(
                    store, server, client.resources, server_scale.ingest, pushers=1,
                    workers=1)]
        return figures + sync_server.measure_postgres(client.resources, server_scale)
    finally:
        shutil.rmtree(work, ignore_errors=True)
