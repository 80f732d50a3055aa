"""``pms-sync-server admin ...``: tenants, devices, admins, system clients and the audit check.

Each command migrates the store first, so it works on a fresh data directory. Commands that
create something print the new identifier or secret as their last line, for scripts. Every
command leaves an entry in the server's own access chain (``admin_log``), refused ones too.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import io
import os
import sys
from typing import Any

import pyotp

from sync_server import admin_log
from sync_server.audit import reanchor
from sync_server.audit.verify import verify_all
from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.cli import add_store_options, database_url, load_config
from sync_server.errors import BadRequest, ClientError, ServerError
from sync_server.store import migrate
from sync_server.store.db import Database


def add_admin_parser(sub: Any) -> None:
    admin = sub.add_parser("admin", help="manage clinics, devices, admins and clients")
    cmds = admin.add_subparsers(dest="admin_command", required=True)

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = cmds.add_parser(name, help=help_text)
        add_store_options(parser)
        return parser

    cmd("clinic-add", "create a clinic; prints its id last").add_argument("name")
    cmd("clinic-list", "list clinics")
    code = cmd("enrol-code", "a one-time enrolment code; prints it last")
    code.add_argument("--clinic", required=True)
    code.add_argument("--ttl-hours", type=int, default=24)
    cmd("device-list", "list devices").add_argument("--clinic")
    cmd("device-revoke", "revoke a device credential").add_argument("device_id")
    anchor = cmd("device-re-anchor", "accept a restored workstation's access log: its next "
                 "upload continues the log after the last entry the server shares with it")
    anchor.add_argument("device_id")
    anchor.add_argument("--reason", help="why (kept in the server's access log)")
    cmd("admin-add", "add a central admin (password from PMS_PASSWORD or the terminal); "
        "prints the TOTP secret last").add_argument("username")
    client = cmd("system-client-add", "register a FHIR API client; prints its secret last")
    client.add_argument("--clinic", required=True)
    client.add_argument("--scope", action="append", required=True,
                        help="e.g. system/*.read (repeatable)")
    client.add_argument("name")
    cmd("system-client-list", "list system clients")
    cmd("system-client-revoke", "revoke a system client").add_argument("client_id")
    audit = cmds.add_parser("audit", help="audit chain commands")
    audit_cmds = audit.add_subparsers(dest="audit_command", required=True)
    add_store_options(audit_cmds.add_parser("verify", help="check every audit chain"))


def _open(args: argparse.Namespace) -> Database:
    db = Database(database_url(args, load_config(args.config)))
    migrate.upgrade(db.engine)
    return db


def run_admin(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        return _run_audited(db, args)
    finally:
        db.dispose()


def _command(args: argparse.Namespace) -> str:
    return "audit verify" if args.admin_command == "audit" else str(args.admin_command)


def _target(args: argparse.Namespace) -> dict[str, Any]:
    """What the command acts on, for its audit entry: ids and names, never a secret."""
    keys = {"clinic": "clinic_id", "device_id": "device_id", "client_id": "client_id",
            "username": "username", "ttl_hours": "ttl_hours", "scope": "scopes",
            "reason": "reason"}
    target = {entry: getattr(args, arg) for arg, entry in keys.items()
              if getattr(args, arg, None) is not None}
    if args.admin_command in ("clinic-add", "system-client-add"):
        target["name"] = args.name
    return target


def _run_audited(db: Database, args: argparse.Namespace) -> int:
    """Run the command and append its entry to the server's chain before anything it printed
    (an id, a code, a secret) is shown: nothing leaves unaudited. A command that changes
    something writes its entry in the change's own transaction (``admin_log.InWork``): if the
    entry cannot be written, nothing changes and the command fails."""
    command, target = _command(args), _target(args)
    entry = admin_log.InWork(command, target)
    shown = io.StringIO()
    try:
        with contextlib.redirect_stdout(shown):
            code = _dispatch(db, args, target, entry)
    except admin_log.AuditFailed:
        raise  # nothing changed; the store refuses entries now, so none is tried again
    except ServerError as exc:
        admin_log.record(db, command, outcome="refused", target=target,
                         error=exc.message if isinstance(exc, ClientError) else None)
        raise
    if entry.seq is None and (command != "device-re-anchor" or target.get("already")):
        # (a re-anchor allowed now is in the chain already: reanchor.allow wrote it with the work)
        admin_log.record(db, command, outcome="done" if code == 0 else "failed", target=target)
    sys.stdout.write(shown.getvalue())
    return code


def _dispatch(db: Database, args: argparse.Namespace, target: dict[str, Any],
              entry: admin_log.InWork) -> int:
    command = args.admin_command
    if command == "clinic-add":
        target["clinic_id"] = tenancy.add_clinic(db, args.name, audit=entry)
        print(target["clinic_id"])
    elif command == "clinic-list":
        for clinic_id, name in tenancy.list_clinics(db):
            print(f"{clinic_id}\t{name}")
    elif command == "enrol-code":
        code = auth.new_enrolment_code(db, args.clinic, args.ttl_hours, audit=entry)
        print(f"expires in {args.ttl_hours} hours; use it once")
        print(code)
    elif command == "device-list":
        for d in tenancy.list_devices(db, args.clinic):
            state = f"revoked {d.revoked_at}" if d.revoked_at else "active"
            print(f"{d.id}\t{d.clinic_id}\t{d.name}\t{state}\tlast seen {d.last_seen_at or '-'}")
    elif command == "device-revoke":
        tenancy.revoke_device(db, args.device_id, audit=entry)
        print(f"revoked {args.device_id}")
    elif command == "device-re-anchor":
        done = reanchor.allow(db, args.device_id, reason=args.reason, by=admin_log.actor())
        target["already"] = done.already
        head = "nothing yet" if done.head_seq is None else f"up to seq {done.head_seq}"
        print(("already allowed" if done.already else "allowed")
              + f": device {done.device_id}'s next access-log upload re-anchors its log. What "
              f"the server holds ({head}) stays; the re-anchor is in the server's access log.")
        print(done.device_id)
    elif command == "admin-add":
        return _admin_add(db, args.username, entry)
    elif command == "system-client-add":
        client_id, secret = auth.add_system_client(db, args.clinic, args.name, args.scope,
                                                   audit=entry)
        target["client_id"] = client_id
        print(f"client_id={client_id}")
        print(f"client_secret={secret}")
    elif command == "system-client-list":
        for c in tenancy.list_system_clients(db):
            print(f"{c['id']}\t{c['clinic_id']}\t{c['name']}\t{c['scopes']}\t"
                  f"{'revoked' if c['revoked_at'] else 'active'}")
    elif command == "system-client-revoke":
        tenancy.revoke_system_client(db, args.client_id, audit=entry)
        print(f"revoked {args.client_id}")
    elif command == "audit":
        verdict = _audit_verify(db)
        target["intact"] = verdict == 0
        return verdict
    return 0


def _admin_add(db: Database, username: str, entry: admin_log.InWork) -> int:
    password = os.environ.get("PMS_PASSWORD")
    if password is None:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise BadRequest("the passwords differ")
    secret = auth.add_admin(db, username, password, audit=entry)
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="pms-sync-server")
    print(f"admin {username} added; enrol this TOTP secret in an authenticator app:")
    print(uri)
    print(secret)
    return 0


def _audit_verify(db: Database) -> int:
    reports = verify_all(db)
    bad = [r for r in reports if r.problem]
    for report in reports:
        print(f"{report.name}: {report.entries} entries, "
              f"{'INTACT' if report.problem is None else 'BROKEN at ' + report.problem}")
    if bad:
        print(f"first bad entry: {bad[0].name}: {bad[0].problem}", file=sys.stderr)
        return 1
    print("all audit chains intact")
    return 0
