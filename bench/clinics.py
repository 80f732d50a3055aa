"""``python -m bench.clinics``: the 20-clinics-at-once figure alone, in a minute or two.

The figure is ``sync_server.clinics_at_once`` as the whole sync group measures it (20 clinics,
each pushing 100-change batches back to back from the same start, on PostgreSQL with two
workers; p95 over every push), without the 100,000-patient first push before it.

Its pool of resources is the one the whole group uses for it: the sync group pushes the demo
clinic's records in table order and pulls them back raw, and the figure's pushes take the first
1,000 of that feed. Here only those first records are queued on a copy of the cached demo
(``bench/.cache/demo-100000``), pushed to a SQLite server by the real client and pulled back;
the result is kept in ``bench/.cache/clinics-pool.json`` for later runs (``--fresh-pool`` makes
it again). ``PMS_BENCH_PROFILE_SERVER=DIR`` profiles the PostgreSQL server with py-spy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from .harness import CACHE, PRIVATE_KEYRING, Figure, demo_clinic, table

POOL_FILE = CACHE / "clinics-pool.json"
POOL_SIZE = 1000  # what the figure's pushes use of the sync group's pool (pool[i % len])


def build_pool(demo_dir: Path, size: int) -> list[dict[str, Any]]:
    """The first ``size`` records of the demo clinic as the server holds them after the
    clinic's first sync (the same records, in the same order, as the sync group's pool)."""
    from . import sync_client, sync_env

    work = Path(tempfile.mkdtemp(prefix="clinics-pool-", dir=CACHE))
    try:
        with sync_env.sqlite_store(work) as store:
            sync_env.migrate(store.url)
            with sync_env.running_server(store.url) as server:
                clinic = sync_env.new_clinic(store.url, "Bench clinic")
                with sync_client.closing(sync_client.copy_clinic(
                        demo_dir, work / "source", "source")) as src:
                    src.sync.enrol_device(  # type: ignore[attr-defined]
                        server_url=server.url,
                        code=sync_env.enrolment_code(store.url, clinic),
                        device_name="bench clinics pool")
                    sync_client.queue(src, limit=size)
                    sync_client._sync(src)
                    token = src.sync.keystore.get(  # type: ignore[attr-defined]
                        src.sync._credential_name()).decode()  # type: ignore[attr-defined]
                    return sync_client.pulled_resources(server.url, token, size)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pool(demo_dir: Path, *, fresh: bool) -> list[dict[str, Any]]:
    if POOL_FILE.exists() and not fresh:
        kept: list[dict[str, Any]] = json.loads(POOL_FILE.read_text(encoding="utf-8"))
        return kept
    made = build_pool(demo_clinic(demo_dir, 100_000), POOL_SIZE)
    POOL_FILE.parent.mkdir(parents=True, exist_ok=True)
    POOL_FILE.write_text(json.dumps(made), encoding="utf-8")
    return made


def measure(resources: list[dict[str, Any]], rounds: int) -> Figure:
    from . import sync_env, sync_server

    scale = sync_server.ServerScale(ingest=0, clinics=20, rounds=rounds)
    with sync_env.postgres_store() as pg:
        if pg is None:
            return Figure("20 clinics syncing at once: a 100-change push", "p95 < 500 ms",
                          None, None, "ms", False,
                          note="PostgreSQL at 127.0.0.1:5432 unreachable")
        sync_env.migrate(pg.url)
        with sync_env.running_server(pg.url, workers=2) as server:
            return sync_server.clinics_at_once(pg, server, resources, scale)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.clinics",
                                 description="the 20-clinics-at-once figure alone")
    ap.add_argument("--rounds", type=int, default=10, help="pushes of 100 changes a clinic")
    ap.add_argument("--repeat", type=int, default=1, help="the figure this many times")
    ap.add_argument("--fresh-pool", action="store_true",
                    help=f"make {POOL_FILE.name} again from the demo")
    ap.add_argument("--data-dir", type=Path, default=CACHE / "demo-100000")
    args = ap.parse_args(argv)
    for name, value in PRIVATE_KEYRING.items():
        os.environ.setdefault(name, value)
    resources = pool(args.data_dir, fresh=args.fresh_pool)
    mix = Counter(r["resourceType"] for r in resources[:POOL_SIZE])
    print(f"pool: {len(resources)} resources ("
          + ", ".join(f"{t} {n}" for t, n in mix.most_common()) + ")", file=sys.stderr)
    figures = [measure(resources, args.rounds) for _ in range(args.repeat)]
    print(table(figures))
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
