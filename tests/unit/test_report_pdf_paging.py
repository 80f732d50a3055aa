"""A long report prints every row once, in order, under one header a page (the paged table)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from pms_desktop.documents.letterhead import Letterhead
from pms_desktop.documents.report_pdf import ReportColumn, ReportTable, render_report_pdf

HEAD = Letterhead(name="Riverside Family Practice")


def _report(n: int, columns: int) -> ReportTable:
    cols = (ReportColumn("Row", width=0.8), ReportColumn("Patient", width=1.6))
    cols += tuple(ReportColumn(f"Extra {i}", kind="int") for i in range(columns - 3))
    cols += (ReportColumn("Amount", kind="money"),)
    rows = []
    for i in range(n):
        # Every 17th patient's name is too wide for its column: that row wraps and is taller.
        name = (
            f"LONG-DOUBLE-BARRELLED-NAME-{i}, Maximiliana Bartholomea"
            if i % 17 == 0
            else "AHERN, Ann"
        )
        rows.append((f"R{i:05d}", name, *range(columns - 3), 1000 + i))
    return ReportTable(
        kind="day-sheet", title="Day sheet", basis="Counted by appointment date",
        date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), columns=cols, rows=tuple(rows),
        totals=("Total", f"{n} rows", *([None] * (columns - 3)), 0), currency="EUR",
        locale="en_IE", clinic_name=HEAD.name, generated_at="1 Jan 2026 09:00",
    )  # fmt: skip


@pytest.mark.parametrize("n, columns", [(400, 7), (150, 3), (5, 3)])
def test_every_row_once_in_order_one_header_a_page_totals_last(n, columns):
    pages = [
        p.extract_text()
        for p in PdfReader(io.BytesIO(render_report_pdf(_report(n, columns), HEAD))).pages
    ]
    seen = [int(m) for text in pages for m in re.findall(r"R(\d{5})", text)]
    assert seen == list(range(n))
    assert all(text.count("Patient") == 1 for text in pages), "one header row on every page"
    assert [i for i, text in enumerate(pages) if f"{n} rows" in text] == [len(pages) - 1]
    if n > 100:
        # Pages are filled: no page ends early (a stray page break or a mid-page header).
        per_page = [len(re.findall(r"R\d{5}", text)) for text in pages[1:-1]]
        assert min(per_page) >= 0.8 * max(per_page)
