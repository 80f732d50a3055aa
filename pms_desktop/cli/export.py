"""``pms-desktop export fhir``: the whole clinic as one FHIR R4 Bundle (JSON), a clinic-admin
action. The sign-in and the export are in the access log (``export.fhir``, or a refusal); the
file is written beside its target and renamed into place, so a failed export leaves nothing
half-written."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..domain.enums import AuditOutcome
from ..domain.errors import PermissionDenied
from ..domain.permissions import Permission, allows
from ..fhir.bundle_export import write_bundle
from ..services.base import unit_of_work
from .common import add_data_dir, add_user, open_ctx, sign_in


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("export", help="export the clinic's data")
    kinds = parser.add_subparsers(dest="export_kind", required=True)
    fhir = kinds.add_parser("fhir", help="the whole clinic as one FHIR R4 Bundle (JSON)")
    add_data_dir(fhir)
    fhir.add_argument("--out", type=Path, required=True, help="the Bundle JSON file to write")
    add_user(fhir)
    fhir.add_argument(
        "--include-audit",
        action="store_true",
        help="also this workstation's access log, as AuditEvents",
    )
    fhir.set_defaults(func=_export_fhir)


def _export_fhir(args: argparse.Namespace) -> int:
    ctx = open_ctx(args)
    try:
        actor = sign_in(ctx, args.user)
        if not allows(actor.role, Permission.BACKUPS):
            with unit_of_work(ctx.core, actor) as uow:
                uow.audit(
                    "export.fhir",
                    outcome=AuditOutcome.REFUSED,
                    detail={"permission": Permission.BACKUPS.value},
                )
            raise PermissionDenied(Permission.BACKUPS.value)
        out = Path(args.out)
        tmp = out.with_name(out.name + ".partial")
        try:
            with (
                ctx.db.sessions()() as session,
                session.begin(),
                tmp.open("w", encoding="utf-8") as fh,
            ):
                count = write_bundle(session, fh, include_audit=args.include_audit)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        with unit_of_work(ctx.core, actor) as uow:
            uow.audit(
                "export.fhir", detail={"entries": count, "include_audit": bool(args.include_audit)}
            )
    finally:
        ctx.close()
    print(f"exported {count} resources to {args.out}")
    return 0
