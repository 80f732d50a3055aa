"""``pms-desktop report KIND --data-dir DIR --from D --to D --out FILE.pdf|FILE.csv --user NAME``.

KIND: day-sheet, takings, revenue, aging (and no-show, not-invoiced). Signs the user in (a
practice manager or clinic admin: the REPORTS permission) and writes the same report the
Reports screen shows, as PDF or CSV by the file's suffix.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from ..domain.errors import ValidationError
from .common import add_data_dir, add_user, open_ctx, sign_in

KINDS = ("day-sheet", "takings", "revenue", "aging", "no-show", "not-invoiced")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from e


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("report", help="write a report as PDF or CSV")
    p.add_argument("kind", choices=KINDS)
    add_data_dir(p)
    p.add_argument(
        "--from", dest="date_from", type=_date, required=True, help="first day (YYYY-MM-DD)"
    )
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last day (YYYY-MM-DD)")
    p.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.csv")
    p.add_argument(
        "--group-by",
        default="period",
        choices=("period", "practitioner", "service"),
        help="revenue grouping (default: period)",
    )
    add_user(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() not in (".pdf", ".csv"):
        raise ValidationError({"out": "The output file must end in .pdf or .csv."})
    ctx = open_ctx(args)
    try:
        actor = sign_in(ctx, args.user)
        report = ctx.reports.export_file(  # type: ignore[attr-defined]
            actor,
            kind=args.kind,
            date_from=args.date_from,
            date_to=args.date_to,
            out=args.out,
            group_by=args.group_by,
        )
        print(f"{report.title}: {len(report.rows)} rows written to {args.out}")
        return 0
    finally:
        ctx.close()
