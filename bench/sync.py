"""The sync figures of DESIGN.md's budget: the client's (``sync_client``) and the server's
(``sync_server``), both against the real server process. Scratch files go to a folder under
the bench cache, removed afterwards; PostgreSQL gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import sync_client, sync_server
from .harness import Figure


def measure(demo_dir: Path, cache: Path, *, quick: bool) -> list[Figure]:
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sync-", dir=cache))
    try:
        server_scale = sync_server.QUICK if quick else sync_server.FULL
        client = sync_client.measure(demo_dir, work / "client",
                                     sync_client.QUICK if quick else sync_client.FULL,
                                     keep_resources=min(server_scale.ingest, 20_000))
        return client.figures + sync_server.measure(client.resources, work / "server",
                                                    server_scale)
    finally:
        shutil.rmtree(work, ignore_errors=True)
