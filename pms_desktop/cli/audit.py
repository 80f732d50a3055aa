"""``pms-desktop audit export|verify``: the access log as JSON Lines, and its verifier.

``export`` and ``verify --data-dir`` are clinic-admin actions (a staff sign-in, logged);
``verify --file`` only reads a file and needs no sign-in (the anchor's seal is then unchecked).
Exit 0 and the count when intact; exit 2 naming the first bad entry otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..audit.jsonl import verify_file
from .common import add_data_dir, open_ctx, sign_in

BROKEN = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("audit", help="export or verify the tamper-evident access log")
    cmds = parser.add_subparsers(dest="audit_command", required=True)
    export = cmds.add_parser("export", help="the whole chain as JSON Lines")
    add_data_dir(export)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--user", required=True, help="clinic admin (PMS_PASSWORD / PMS_TOTP)")
    export.set_defaults(func=_export)
    verify = cmds.add_parser("verify", help="check the chain of the database or of a file")
    add_data_dir(verify, required=False)
    verify.add_argument("--file", type=Path, help="an exported JSON Lines file")
    verify.add_argument("--user", help="clinic admin, with --data-dir")
    verify.set_defaults(func=_verify)


def _export(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        actor = sign_in(ctx, args.user)
        count = ctx.audit.export_jsonl(actor, out=args.out)  # type: ignore[attr-defined]
    finally:
        ctx.close()
    print(f"exported {count} entries to {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if args.file is None and args.data_dir is None:
        print("error: give --data-dir DIR --user NAME, or --file FILE", file=sys.stderr)
        return 1
    if args.file is not None and args.data_dir is None:
        report, _ = verify_file(args.file)
        count, intact = report.count, report.intact
        seq, problem = report.first_bad_seq, report.problem
        note = " (closing anchor's seal not checked without --data-dir)"
    else:
        if not args.user:
            print("error: --user is required with --data-dir", file=sys.stderr)
            return 1
        ctx = open_ctx(args)
        try:
            actor = sign_in(ctx, args.user)
            if args.file is not None:
                check = ctx.audit.verify_file(actor, path=args.file)  # type: ignore[attr-defined]
            else:
                check = ctx.audit.verify(actor)  # type: ignore[attr-defined]
        finally:
            ctx.close()
        count, intact, seq, problem = check.count, check.intact, check.first_bad_seq, check.problem
        note = ""
    if intact:
        print(f"intact: {count} entries{note}")
        return 0
    print(f"BROKEN at entry {seq}: {problem} ({count} entries verified before it)")
    return BROKEN
