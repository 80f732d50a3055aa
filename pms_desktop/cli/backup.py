"""``backup`` and ``restore``: clinic-admin actions, signed in and logged.

``restore`` checks the sign-in against the staff accounts *inside the backup* (the live database
may be the damaged one), then replaces the database and logs the restore in the restored one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..context import build_context
from ..domain.enums import Role
from ..domain.errors import AuthenticationError, PermissionDenied
from ..domain.permissions import Permission, allows
from ..security.passwords import verify_password
from ..security.totp import matching_step
from ..store.backup import restore_backup
from ..store.database import ClinicDatabase, acquire_lock
from ..store.models import StaffUser
from .common import _secret, add_data_dir, add_user, open_ctx, password_change_first, sign_in


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser("backup", help="write an encrypted, consistent copy of the clinic database")
    add_data_dir(b)
    b.add_argument("--out", type=Path, required=True, help="backup file (or folder)")
    add_user(b)
    b.set_defaults(func=run_backup)
    r = sub.add_parser("restore", help="bring a backup back (after checking it opens)")
    add_data_dir(r)
    r.add_argument("--from", dest="source", type=Path, required=True, help="backup file")
    add_user(r)
    r.set_defaults(func=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        actor = sign_in(ctx, args.user)
        result = ctx.backups.backup_now(actor, out=args.out)  # type: ignore[attr-defined]
    finally:
        ctx.close()
    print(f"backup written: {result.path} ({result.size_bytes} bytes)")
    return 0


def _check_admin_in_backup(username: str, password: str, code: str) -> Callable[[Engine], None]:
    def verify(engine: Engine) -> None:
        with Session(engine) as s:
            user = s.scalars(select(StaffUser)
                             .where(StaffUser.username == username.lower())).first()
            ok = (user is not None and user.active and verify_password(user.password_hash, password)
                  and (not user.totp_enabled or (user.totp_secret is not None and
                       matching_step(user.totp_secret, code, datetime.now(UTC)) is not None)))
            if not ok:
                raise AuthenticationError(
                    "The user name, password or code is not right for this backup.")
            assert user is not None
            if user.must_change_password:  # as every signed-in command (cli/common.sign_in)
                raise password_change_first(user.username)
            if not allows(Role(user.role), Permission.BACKUPS):
                raise PermissionDenied(Permission.BACKUPS.value,
                                       "Only a clinic admin can restore a backup.")

    return verify


def run_restore(args: argparse.Namespace) -> int:
    password = _secret("PMS_PASSWORD", f"Password for {args.user}: ")
    code = os.environ.get("PMS_TOTP") or (
        input("Authenticator code: ") if sys.stdin.isatty() else "")
    secret = os.environ.get("PMS_RECOVERY_SECRET")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    lock = acquire_lock(args.data_dir)
    try:
        restore_backup(args.source, args.data_dir, recovery_secret=secret,
                       verify=_check_admin_in_backup(args.user, password, code))
    finally:
        lock.release()
    ctx = build_context(ClinicDatabase.open(args.data_dir))
    try:
        from ..services.base import unit_of_work

        with unit_of_work(ctx.core, None) as uow:
            uow.audit("backup.restore", detail={"file": Path(args.source).name, "by": args.user})
    finally:
        ctx.close()
    print(f"restored {args.source} into {args.data_dir}")
    return 0
