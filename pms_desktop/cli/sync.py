"""``pms-desktop sync --data-dir DIR``: one sync now, headless.

Acts as the workstation with its device credential (no staff sign-in). Exit 0 when done;
1 when the server refused or the workstation is not enrolled; 2 when the server cannot be
reached (nothing is lost: the changes stay queued for the next sync).
"""

from __future__ import annotations

import argparse
import sys

from ..sync.transport import SyncOffline
from .common import add_data_dir, open_ctx


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sync", help="synchronise with the sync server once, now")
    add_data_dir(p)
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        result = ctx.sync.run_sync()  # type: ignore[attr-defined]
    except SyncOffline as e:
        print(f"error: {e} Changes stay queued.", file=sys.stderr)
        return 2
    finally:
        ctx.close()
    if not args.quiet:
        print(f"pushed={result.pushed} pulled={result.pulled} conflicts={result.new_conflicts} "
              f"quarantined={result.quarantined} audit={result.audit_shipped} "
              f"repaired={result.repaired} digest_ok={result.digest_ok}")
    return 0
