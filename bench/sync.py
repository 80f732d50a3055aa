"""The sync figures of DESIGN.md's budget: the client's (``sync_client``) and the server's
(``sync_server``), against the real server process: one on SQLite (the client figures, then
the SQLite ingest on other clinics of it), one on PostgreSQL with two workers (ingest, then 20
clinics at once). Scratch files go to a folder under the bench cache, removed afterwards;
PostgreSQL gets a database of its own, dropped afterwards.

``python -m bench.sync [--changes N] [--patients P] [--repeat R]`` measures the push figure
alone (a few minutes instead of the whole group): a clinic whose first ``P`` patients' records
the server holds, then ``R`` syncs of ``N`` edits of them, with the client's and the server's
CPU time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import sync_client, sync_env, sync_server
from .harness import CACHE, PRIVATE_KEYRING, Figure, table


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


def measure_push(demo_dir: Path, cache: Path, *, patients: int, changes: int,
                 repeat: int) -> Figure:
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sync-push-", dir=cache))
    try:
        with sync_env.sqlite_store(work) as store:
            sync_env.migrate(store.url)
            with sync_env.running_server(store.url) as server:
                return sync_client.measure_push(demo_dir, work / "client", store, server,
                                                patients=patients, changes=changes,
                                                repeat=repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sync",
                                 description="the sync push figure alone")
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--patients", type=int, default=6_000,
                    help="patients whose records the server holds first")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data-dir", type=Path, default=CACHE / "demo-100000")
    args = ap.parse_args(argv)
    for name, value in PRIVATE_KEYRING.items():
        os.environ.setdefault(name, value)
    figure = measure_push(args.data_dir, CACHE, patients=args.patients, changes=args.changes,
                          repeat=args.repeat)
    print(table([figure]))
    return 0 if figure.passed is not False else 1


if __name__ == "__main__":
    sys.exit(main())
