"""``clinic-key issue`` (clinic admin) and ``clinic-key enter`` (as the workstation).

The clinic key seals staff passwords and authenticator secrets on their way between the
clinic's workstations. ``issue`` makes a new code on a workstation that holds the key (the
previous code stops working) and prints it as the last line; ``enter`` gives the code to a
workstation enrolled without it (from ``--code``, ``PMS_CLINIC_KEY`` or a prompt). A code opens
the key for one workstation: a wrong, replaced or already used code exits 1 with one line and
leaves the workstation as it was (tests/sync/test_clinic_key_enter.py).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from ..domain.errors import ValidationError
from .common import add_data_dir, add_user, open_ctx, sign_in


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    k = sub.add_parser("clinic-key", help="the clinic key for staff accounts: issue, enter")
    ks = k.add_subparsers(dest="clinic_key_command", required=True)
    issue = ks.add_parser("issue", help="a new code to enrol another workstation of the clinic")
    add_data_dir(issue)
    add_user(issue)
    issue.set_defaults(func=run_issue)
    enter = ks.add_parser("enter", help="receive the clinic key with a code a clinic admin gave")
    add_data_dir(enter)
    enter.add_argument("--code", default=None, help="the clinic key code (or PMS_CLINIC_KEY)")
    enter.set_defaults(func=run_enter)


def run_issue(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        code = ctx.sync.issue_clinic_key_code(sign_in(ctx, args.user))  # type: ignore[attr-defined]
    finally:
        ctx.close()
    print("type this code when you enrol the clinic's next workstation (it replaces the last):")
    print(code)
    return 0


def run_enter(args: argparse.Namespace) -> int:
    code = args.code or os.environ.get("PMS_CLINIC_KEY") or (
        getpass.getpass("Clinic key code: ") if sys.stdin.isatty() else "")
    if not code:
        raise ValidationError({"code": "Give the clinic key code (--code or PMS_CLINIC_KEY)."})
    ctx = open_ctx(args)
    try:
        ctx.sync.enter_clinic_key_code(code)  # type: ignore[attr-defined]
    finally:
        ctx.close()
    print("this workstation holds the clinic key; it can sync now")
    return 0
