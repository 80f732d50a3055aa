"""``keys rotate`` (clinic admin) and ``keys recover`` (open with the recovery secret)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from ..store.database import ClinicDatabase
from .common import add_data_dir, add_user, open_ctx, sign_in


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    k = sub.add_parser("keys", help="database key: rotate, recover")
    ks = k.add_subparsers(dest="keys_command", required=True)
    rot = ks.add_parser("rotate", help="re-encrypt the database under a new random key")
    add_data_dir(rot)
    add_user(rot)
    rot.set_defaults(func=run_rotate)
    rec = ks.add_parser("recover",
                        help="open with the recovery secret and put the key back in the keyring")
    add_data_dir(rec)
    rec.set_defaults(func=run_recover)


def run_rotate(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        actor = sign_in(ctx, args.user)
        ctx.backups.rotate_key(actor)  # type: ignore[attr-defined]
    finally:
        ctx.close()
    print("database key rotated; the recovery secret is unchanged")
    return 0


def run_recover(args: argparse.Namespace) -> int:
    secret = os.environ.get("PMS_RECOVERY_SECRET") or (
        getpass.getpass("Recovery secret: ") if sys.stdin.isatty() else ""
    )
    db = ClinicDatabase.open_with_recovery_secret(args.data_dir, secret)
    db.close()
    print("database opened with the recovery secret; its key is back in this computer's keyring")
    return 0
