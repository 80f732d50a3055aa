"""``pms-desktop enroll --data-dir DIR --server URL --code CODE [--clinic-key CODE]``.

Acts as the workstation (no staff sign-in): the one-time code from the central admin is
exchanged for a device credential, which goes to the OS keyring, never to a file. A workstation
joining a clinic that already syncs also needs the clinic key code a clinic admin issues on a
workstation in use (``pms-desktop clinic-key issue``), from ``--clinic-key`` or
``PMS_CLINIC_KEY``. A folder with no database yet becomes a new, empty workstation, filled by
its first ``pms-desktop sync``; its recovery secret is printed once.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..store.database import ClinicDatabase
from .common import add_data_dir, open_ctx


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("enroll", help="enrol this workstation with the clinic's sync server")
    add_data_dir(p)
    p.add_argument("--server", required=True, help="sync server address (https://...)")
    p.add_argument("--code", required=True, help="one-time enrolment code")
    p.add_argument("--name", default=None, help="this workstation's name on the server")
    p.add_argument("--ca-file", type=Path, default=None, help="CA certificate file (PEM)")
    p.add_argument("--clinic-key", default=None,
                   help="clinic key code from a workstation in use (or PMS_CLINIC_KEY)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not ClinicDatabase.exists(args.data_dir):
        db, secret = ClinicDatabase.create(args.data_dir)
        db.close()
        print(f"recovery-secret={secret}")
        print("a new workstation: keep the recovery secret above somewhere safe, offline")
    ctx = open_ctx(args)
    try:
        clinic = ctx.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=args.server, code=args.code, device_name=args.name, ca_file=args.ca_file,
            clinic_key_code=args.clinic_key or os.environ.get("PMS_CLINIC_KEY") or None)
    finally:
        ctx.close()
    print(f"enrolled with {args.server} for clinic {clinic!r}")
    return 0
