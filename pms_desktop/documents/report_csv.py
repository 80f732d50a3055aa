"""Reports as CSV: one header row, the rows, then the totals row (first cell "Total").

Money is written exact in major units with a dot ("1234.50", no symbol or grouping) so that a
spreadsheet sums it to the cent; rates as decimal fractions; dates as ISO 8601. No database.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from ..domain.money import to_decimal
from .report_pdf import Cell, ReportColumn, ReportTable


def csv_cell(col: ReportColumn, value: Cell, currency: str) -> str:
    if value is None:
        return ""
    if col.kind == "money" and isinstance(value, int):
        return str(to_decimal(value, currency))
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_report_csv(report: ReportTable) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow([c.title for c in report.columns])
    cols, cur = report.columns, report.currency
    for row in report.rows:
        out.writerow([csv_cell(c, v, cur) for c, v in zip(cols, row, strict=True)])
    if report.totals is not None:
        out.writerow([csv_cell(c, v, cur) for c, v in zip(cols, report.totals, strict=True)])
    return buf.getvalue()
