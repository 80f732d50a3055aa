"""A long report prints every row once, in order, under one header a page (the paged table)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from reportlab.lib import colors

from pms_desktop.documents import report_pdf
from pms_desktop.documents.letterhead import Letterhead, fonts
from pms_desktop.documents.report_pdf import ReportColumn, ReportTable, render_report_pdf

HEAD = Letterhead(name="Riverside Family Practice")


def _report(n: int, columns: int, *, lines: bool = False) -> ReportTable:
    cols = (ReportColumn("Row", width=0.8), ReportColumn("Patient", width=1.6))
    cols += tuple(ReportColumn(f"Extra {i}", kind="int") for i in range(columns - 3))
    cols += (ReportColumn("Amount", kind="money"),)
    rows = []
    for i in range(n):
        # Every 17th patient's name is too wide for its column: that row wraps and is taller.
        name = (
            f"LONG-DOUBLE-BARRELLED-NAME-{i}, Maximiliana Bartholomea"
            if i % 17 == 0
            else "AHERN, Ann\n(guardian)"
            if lines and i % 5 == 0
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


def _text_positions(pdf: bytes) -> list[list[tuple[str, str, float, float, float]]]:
    """Each page's pieces of text, in the order drawn, with font, size and place."""
    out: list[list[tuple[str, str, float, float, float]]] = []

    def note(text, cm, tm, font, size):  # type: ignore[no-untyped-def]
        if text.strip():
            at = (round(cm[4] + tm[4], 2), round(cm[5] + tm[5], 2))
            out[-1].append((text, str(font and font.get("/BaseFont"))[7:], size, *at))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        out.append([])
        page.extract_text(visitor_text=note)
    return out


class _AsReportLabTable(report_pdf.Table):  # type: ignore[misc, name-defined]
    """A page's piece as one plain ReportLab Table that measures and draws every cell itself:
    the header bold and white, the totals (a row that starts "Total") bold."""

    def __init__(self, rows, heights, col_w, style, looks, right, text):  # type: ignore[no-untyped-def]
        size, leading, _ = text
        reg, bold = fonts()
        cmds = [*style, ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        cmds += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i, r in enumerate(right) if r]
        cmds += [("FONT", (0, 0), (-1, -1), reg, size, leading)]
        cmds += [("FONT", (0, 0), (-1, 0), bold, size, leading)]
        cmds += [("TEXTCOLOR", (0, 0), (-1, 0), colors.white)]
        if rows[-1][0] == "Total":
            cmds += [("FONT", (0, -1), (-1, -1), bold, size, leading)]
        super().__init__(rows, colWidths=col_w, style=cmds)


@pytest.mark.parametrize("n, columns", [(60, 8), (12, 3), (0, 3)])
def test_every_cell_where_a_reportlab_table_puts_it(monkeypatch, n, columns):
    """Rows are measured once, up front, and plain text is drawn without ReportLab's Table:
    still every piece of text (a wrapped name, a cell of two lines, right-aligned amounts, the
    bold header and totals) is drawn where, in the font and in the order, a ReportLab table of
    the same rows draws it."""
    report = _report(n, columns, lines=True)
    ours = _text_positions(render_report_pdf(report, HEAD))
    monkeypatch.setattr(report_pdf, "_Page", _AsReportLabTable)
    assert ours == _text_positions(render_report_pdf(report, HEAD))


@pytest.mark.parametrize("room", [10, 25])
def test_no_header_alone_at_the_foot_of_a_page(room):
    """Room at the page's foot for the header only (25 points), or not even that (10): the
    table starts on the next page, its header above its first row."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Spacer

    from pms_desktop.documents.letterhead import BOTTOM_MARGIN, TOP_MARGIN, build_pdf

    report = _report(40, 3)
    frame = A4[1] - TOP_MARGIN - BOTTOM_MARGIN
    table = report_pdf._table(report, 400, *fonts())
    pdf = build_pdf([Spacer(1, frame - room), table], HEAD, title="t")
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert "Patient" not in pages[0] and "R00000" not in pages[0]
    assert pages[1].index("Patient") < pages[1].index("R00000")
    seen = [int(m) for text in pages for m in re.findall(r"R(\d{5})", text)]
    assert seen == list(range(40))
