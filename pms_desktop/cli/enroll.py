"""``pms-desktop enroll --data-dir DIR --server URL --code CODE [--clinic-key CODE]``.

Acts as the workstation (no staff sign-in): the one-time code from the central admin is
exchanged for a device credential, which goes to the OS keyring, never to a file.

A folder with no database yet joins a clinic that already syncs, as the first-run wizard's
"Join" does (``services.workstation_join``): it needs the clinic key code a clinic admin issues
on a workstation in use (``pms-desktop clinic-key issue``), from ``--clinic-key``,
``PMS_CLINIC_KEY`` or a prompt. The store is made in a staging folder and moved into place only
once the workstation is enrolled and holds the clinic key; a wrong code, a server out of reach
or an interrupted command leaves nothing in the folder (and no keyring entry), and an enrolment
already made is withdrawn at the server (or, offline, named for the central admin to revoke).
Its first ``pms-desktop sync`` fills it; its recovery secret is printed once, at the end.

A folder that holds a clinic already (the clinic's first workstation) is enrolled in place.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from pathlib import Path

from ..domain.errors import ValidationError
from ..services.workstation_join import ClinicJoin, JoinRequest
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
    key_code = args.clinic_key or os.environ.get("PMS_CLINIC_KEY") or None
    if not ClinicDatabase.exists(args.data_dir):
        return _join(args, key_code)
    ctx = open_ctx(args)
    try:
        clinic = ctx.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=args.server, code=args.code, device_name=args.name, ca_file=args.ca_file,
            clinic_key_code=key_code)
    finally:
        ctx.close()
    print(f"enrolled with {args.server} for clinic {clinic!r}")
    return 0


def _join(args: argparse.Namespace, key_code: str | None) -> int:
    """A new workstation of a clinic in use: all of it or nothing (the join service)."""
    if key_code is None and sys.stdin.isatty():
        key_code = getpass.getpass("Clinic key code (from a clinic admin): ")
    request = JoinRequest(server_url=args.server, code=args.code,
                          clinic_key_code=key_code or "",
                          workstation_name=args.name or socket.gethostname()[:100],
                          ca_file=args.ca_file)
    made_folder = not args.data_dir.exists()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    join = ClinicJoin(args.data_dir)
    try:
        while True:
            try:
                db = join.run(request)
                break
            except ValidationError as e:
                # Enrolled, the clinic key code mistyped: at a terminal, type it again (the
                # enrolment code works once); elsewhere the attempt is discarded.
                if not (join.enrolled and "clinic_key_code" in e.field_errors
                        and sys.stdin.isatty()):
                    raise
                print(f"error: {e.field_errors['clinic_key_code']}", file=sys.stderr)
                request = JoinRequest(**{**request.__dict__, "clinic_key_code": getpass.getpass(
                    "Clinic key code (from a clinic admin): ")})
    except BaseException as e:
        _tell_earlier(join)
        enrolled = join.enrolled
        withdrawal = join.abandon()  # an enrolment made is given back to the server
        if withdrawal is not None:
            print(("" if withdrawal.withdrawn else "warning: ") + withdrawal.message,
                  file=sys.stderr)
        if made_folder and not any(args.data_dir.iterdir()):
            args.data_dir.rmdir()
        if enrolled and isinstance(e, ValidationError):
            raise ValidationError(e.field_errors, f"{e} Nothing was kept in {args.data_dir}; "
                                  "the enrolment code is used up: ask the central admin for a "
                                  "new one.") from e
        raise
    db.close()
    _tell_earlier(join)
    print(f"recovery-secret={join.recovery_secret}")
    print("a new workstation: keep the recovery secret above somewhere safe, offline")
    print(f"enrolled with {args.server} for clinic {join.clinic_name!r}")
    return 0


def _tell_earlier(join: ClinicJoin) -> None:
    """An interrupted earlier attempt's enrolment, given back or (offline) to be revoked."""
    if join.earlier is not None and not join.earlier.withdrawn:
        print(f"warning: {join.earlier.message}", file=sys.stderr)
