"""``pms-desktop demo --data-dir DIR --patients N``: a realistic demo clinic."""

from __future__ import annotations

import argparse
import sys
import time

from ..services.demo import build_demo
from ..store.database import ClinicDatabase
from .common import add_data_dir


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="create a demo clinic with realistic data")
    add_data_dir(p)
    p.add_argument("--patients", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    db, secret = ClinicDatabase.create(args.data_dir)
    try:
        result = build_demo(db, args.patients, seed=args.seed,
                            progress=lambda m: print(f"... {m}", file=sys.stderr, flush=True))
    finally:
        db.close()
    print(f"recovery-secret={secret}")
    print(f"demo clinic in {args.data_dir}: {result.patients} patients, "
          f"{result.appointments} appointments ({time.monotonic() - started:.1f} s)")
    for login in result.logins:
        print(login.line())
    return 0
