"""``python -m bench [--quick] [--patients N] [--data-dir DIR]``: DESIGN.md's budget, measured.

Builds (or reuses) a demo clinic with the ``demo`` command's builder, then prints one table:
figure, target, median, p95, pass/fail. ``--quick`` uses 5,000 patients and fewer repeats (under a
minute, for CI smoke). The demo's database key lives in a file keyring under the cache folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--patients", type=int, default=None)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--only", default="workstation,documents,app,encryption,sync",
                    help="comma-separated groups of figures"
                         " (workstation, documents, app, encryption, sync)")
    args = ap.parse_args(argv)
    patients = args.patients or (5000 if args.quick else 100_000)
    repeat = args.repeat or (20 if args.quick else 100)
    data_dir = args.data_dir or CACHE / f"demo-{patients}"
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    os.environ.setdefault("XDG_DATA_HOME", str(CACHE / "keyring"))

    from pms_desktop.context import build_context
    from pms_desktop.store.database import ClinicDatabase

    from . import encryption, sync, workstation
    from .harness import demo_clinic, machine_speed, table

    demo_clinic(data_dir, patients)
    groups = set(args.only.split(","))
    figures = []
    if "workstation" in groups:
        ctx = build_context(ClinicDatabase.open(data_dir))
        try:
            figures += workstation.measure(ctx, repeat)
        finally:
            ctx.close()
    if "documents" in groups:
        from . import documents

        ctx = build_context(ClinicDatabase.open(data_dir))
        try:
            figures += (documents.measure(ctx, 10, 1, days=31) if args.quick
                        else documents.measure(ctx, min(repeat, 30), 5))
        finally:
            ctx.close()
    if "app" in groups:
        from . import app_process

        figures += app_process.measure(data_dir, starts=1 if args.quick else 10,
                                       charts=6 if args.quick else 50,
                                       searches=6 if args.quick else 30)
    if "encryption" in groups:
        figures += encryption.measure(20_000 if args.quick else 100_000, max(5, repeat // 4),
                                      where=data_dir.parent)
        figures += encryption.measure_store(data_dir, repeat)
    if "sync" in groups:
        figures += sync.measure(data_dir, CACHE, quick=args.quick)
    cpu = platform.processor() or platform.machine()
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {cpu},"
          f" {os.cpu_count()} cores, Python {platform.python_version()}, {patients} patients;"
          f" {machine_speed()}")
    print(table(figures))
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())

