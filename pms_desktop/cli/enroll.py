"""``pms-desktop enroll --data-dir DIR --server URL --code CODE``: enrol this workstation.

Acts as the workstation (no staff sign-in): the one-time code from the central admin is
exchanged for a device credential, which goes to the OS keyring, never to a file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_data_dir, open_ctx


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("enroll", help="enrol this workstation with the clinic's sync server")
    add_data_dir(p)
    p.add_argument("--server", required=True, help="sync server address (https://...)")
    p.add_argument("--code", required=True, help="one-time enrolment code")
    p.add_argument("--name", default=None, help="this workstation's name on the server")
    p.add_argument("--ca-file", type=Path, default=None, help="CA certificate file (PEM)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        clinic = ctx.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=args.server, code=args.code, device_name=args.name, ca_file=args.ca_file)
    finally:
        ctx.close()
    print(f"enrolled with {args.server} for clinic {clinic!r}")
    return 0
