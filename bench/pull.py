"""``python -m bench.pull [--patients P] [--edits E] [--repeat R] [--profile FILE]``: the
first-pull figure alone, with the client's and the server's CPU time.

The first time, a server store holding the demo clinic (its first ``P`` patients' records, every
one with ``P`` omitted) is made and kept in the bench cache (``pull-P-eE/``): a copy of the demo
enrolled and pushed whole, then ``E`` rounds of 10,000 edits of records the server holds (as
the whole sync group's push figure makes before its first pull: 3 by default, so the feed
holds newer versions of records it brought earlier, as a clinic's does), and a clinic key code
issued for the next workstation. Each run
starts the real server (uvicorn subprocess, 127.0.0.1) on a fresh copy of that store (the code
is single-use), enrols a new, empty workstation and times its first ``run_sync()``: pulled
resources per second to the pull's end, as ``python -m bench`` reports it. ``--profile`` writes
the client's cProfile statistics of the last run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from . import sync_client, sync_env
from .harness import CACHE, PRIVATE_KEYRING, Figure, demo_clinic, machine_speed, table


def prepared(demo_dir: Path, patients: int | None, edits: int) -> Path:
    """The cached server store holding the clinic (made once): its folder."""
    from pms_desktop.domain.enums import Role

    from .workstation import actor

    folder = CACHE / f"pull-{patients or 'all'}-e{edits}"
    if (folder / "ready.json").exists():
        return folder
    demo_clinic(demo_dir, 100_000)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url = f"sqlite:///{folder / 'server.db'}"
    sync_env.migrate(url)
    clinic = sync_env.new_clinic(url, "Bench clinic")
    work = Path(tempfile.mkdtemp(prefix="pull-source-", dir=CACHE))
    try:
        with sync_env.running_server(url) as server, sync_client.closing(
                sync_client.copy_clinic(demo_dir, work / "source", "source")) as src:
            src.sync.enrol_device(  # type: ignore[attr-defined]
                server_url=server.url, code=sync_env.enrolment_code(url, clinic),
                device_name="bench source")
            queued = sync_client.queue(src, patients=patients)
            t0 = time.perf_counter()
            sync_client._sync(src)
            print(f"pushed {queued:,} records in {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr)
            for _ in range(edits):
                changes = sync_client.FULL.push_changes
                assert sync_client.queue(src, only_held=True, limit=changes) == changes
                sync_client._sync(src)
            code = src.sync.issue_clinic_key_code(  # type: ignore[attr-defined]
                actor(src, Role.CLINIC_ADMIN))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (folder / "ready.json").write_text(json.dumps({"clinic": clinic, "key_code": code}))
    return folder


def one_pull(folder: Path, profile: Path | None = None) -> sync_client.FirstPull:
    """A new workstation's first sync against a copy of the prepared store."""
    ready = json.loads((folder / "ready.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="pull-run-", dir=CACHE))
    try:
        for suffix in ("", "-wal"):
            if (folder / f"server.db{suffix}").exists():
                shutil.copy(folder / f"server.db{suffix}", work / f"server.db{suffix}")
        url = f"sqlite:///{work / 'server.db'}"
        code = sync_env.enrolment_code(url, ready["clinic"])
        with sync_env.running_server(url) as server:
            return sync_client.first_pull(server, code, ready["key_code"], work / "fresh",
                                          profile=profile)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pull",
                                 description="the first-pull figure alone")
    ap.add_argument("--patients", type=int, default=None,
                    help="patients whose records the server holds (default: the whole demo)")
    ap.add_argument("--edits", type=int, default=sync_client.FULL.push_repeat,
                    help="rounds of 10,000 edits pushed after the clinic (default: as the "
                         "whole sync group's push figure makes)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", type=Path, default=None, help="client cProfile output")
    ap.add_argument("--data-dir", type=Path, default=CACHE / "demo-100000")
    args = ap.parse_args(argv)
    for name, value in PRIVATE_KEYRING.items():
        os.environ.setdefault(name, value)
    folder = prepared(args.data_dir, args.patients, args.edits)
    runs = [one_pull(folder, args.profile if i == args.repeat - 1 else None)
            for i in range(args.repeat)]
    rates = [r.pulled / r.seconds for r in runs]
    n = runs[0].pulled
    median = statistics.median
    note = (f"{median(r.seconds for r in runs):.1f} s; CPU a resource to the pull's end: "
            f"client {median(r.client_cpu for r in runs) / n * 1000:.3f} ms, server "
            f"{median(r.server_cpu for r in runs) / n * 1000:.3f} ms")
    figure: Figure = sync_client.rate_figure(
        f"first pull of a new workstation ({n:,} resources)", 5000, rates,
        overall=statistics.median(rates), note=note)
    print(f"# {machine_speed()}")
    print(table([figure]))
    return 0 if figure.passed is not False else 1


if __name__ == "__main__":
    sys.exit(main())
