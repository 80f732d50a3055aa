"""Reports as plain data, their chart, and their PDF.

``ReportTable`` is what the reports service hands out: columns, raw rows (money as integer minor
units, rates as Decimal), a totals row, the basis it counts by (invoice, payment or appointment
date) and an optional chart. ``build_chart_figure`` makes one matplotlib figure (no pyplot, so it
is safe off the GUI thread): the screen embeds it and the PDF prints it, so both show the same.
No database, no Qt.
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    Spacer,
    Table,
)

from ..domain.dates import day_text
from ..domain.money import format_amount, to_decimal
from .letterhead import (
    ACCENT,
    RULE,
    SHADE,
    Letterhead,
    build_pdf,
    fonts,
    letterhead_flowables,
    styles,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Cell = str | int | Decimal | date | None


@dataclass(frozen=True)
class ReportColumn:
    title: str
    kind: str = "text"  # text | int | money | percent | date
    width: float = 1.0  # relative

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money", "percent")


@dataclass(frozen=True)
class ChartSpec:
    title: str
    labels: tuple[str, ...]
    values: tuple[int | Decimal, ...]  # money in minor units when ``money``
    money: bool = True
    y_label: str = ""


@dataclass(frozen=True)
class ReportTable:
    kind: str
    title: str
    basis: str  # "Counted by invoice date (the day each invoice was issued)"
    date_from: date
    date_to: date
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[Cell, ...] | None
    currency: str
    locale: str
    clinic_name: str
    generated_at: str
    chart: ChartSpec | None = None
    notes: tuple[str, ...] = ()


def format_cell(col: ReportColumn, value: Cell, report: ReportTable) -> str:
    """How a person reads a cell (screen and PDF)."""
    if value is None or value == "":
        return ""
    if col.kind == "money" and isinstance(value, int):
        return format_amount(value, report.currency, report.locale)
    if col.kind == "percent" and isinstance(value, Decimal):
        return f"{(value * 100).quantize(Decimal('0.1'))}%"
    if isinstance(value, date):
        return _day(value)
    return str(value)


@functools.lru_cache(maxsize=4096)
def _day(value: date) -> str:
    """A date as printed (a year's day sheet has 13,000 dates on some 250 days)."""
    return day_text(value)


def build_chart_figure(
    report: ReportTable, *, width_in: float = 9.0, height_in: float = 3.4
) -> Figure | None:
    chart = report.chart
    if chart is None or not chart.labels:
        return None
    # Imported here: matplotlib is a second of the application's start-up otherwise.
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    values = [
        float(to_decimal(int(v), report.currency)) if chart.money else float(v)
        for v in chart.values
    ]  # float for plotting only; figures come from the table
    bars = ax.bar(range(len(values)), values, color="#2e6da4", width=0.65)
    ax.set_xticks(
        range(len(values)),
        chart.labels,
        rotation=30 if len(values) > 6 else 0,
        ha="right" if len(values) > 6 else "center",
        fontsize=8,
    )
    ax.set_title(chart.title, fontsize=10, loc="left", color="#1f4e79")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#d5dce4", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", labelsize=8)
    if chart.money:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{int(round(v)):,}"))
        ax.set_ylabel(report.currency, fontsize=8)
    elif chart.y_label:
        ax.set_ylabel(chart.y_label, fontsize=8)
    if len(values) <= 12:
        if chart.money:
            labels = [format_amount(int(v), report.currency, report.locale) for v in chart.values]
        else:
            labels = [f"{float(v):.1f}" for v in chart.values]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2, color="#333333")
    return fig


def chart_png(
    report: ReportTable, dpi: int = 200, *, width_in: float = 10.0, height_in: float = 3.0
) -> bytes | None:
    fig = build_chart_figure(report, width_in=width_in, height_in=height_in)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def render_report_pdf(report: ReportTable, head: Letterhead) -> bytes:
    reg, bold = fonts()
    page = landscape(A4) if len(report.columns) > 6 else A4
    width = text_width(page)
    st = styles()
    period = (
        f"{format_cell(ReportColumn(''), report.date_from, report)} – "
        f"{format_cell(ReportColumn(''), report.date_to, report)}"
    )
    story: list[Any] = [
        *letterhead_flowables(head, width, tax=True),
        Paragraph(escape(report.title), st["title"]),
        Spacer(1, 1 * mm),
        Paragraph(escape(f"{period} · {report.basis} · generated {report.generated_at}"),
                  st["subtitle"]),
        Spacer(1, 5 * mm),
    ]
    ratio = 0.26 if page is not A4 else 0.36
    png = chart_png(report, width_in=10.0, height_in=10.0 * ratio)
    if png:
        story += [Image(io.BytesIO(png), width=width, height=width * ratio), Spacer(1, 4 * mm)]
    story.append(_table(report, width, reg, bold))
    for note in report.notes:
        story += [Spacer(1, 3 * mm), Paragraph(escape(note), st["small"])]
    return build_pdf(story, head, title=report.title, pagesize=page)


class _PagedRows(Flowable):  # type: ignore[misc]
    """Rows laid out as a table a page at a time; the header row repeats on every page.

    ReportLab splits a long table at a page break by building a new table of every row left
    (quadratic in the rows), and measures every row of every table it builds. Here each row's
    height is measured once, up front (``heights``); at a page break this flowable counts the
    rows that fit (as ``Table.split`` does: header and rows while their sum is within the
    space) and hands the frame the page's piece (``make``: the header and exactly those rows,
    with their heights), and itself for the rest. Each row is laid out once.
    """

    def __init__(
        self,
        heights: list[float],
        make: Callable[[int, int], Flowable],
        width: float,
        start: int = 1,
        below: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.heights, self.make, self.width, self.start = heights, make, width, start
        if below is None:  # below[i]: the height of rows i and after
            below = list(itertools.accumulate(reversed(heights), initial=0.0))[::-1]
        self.below = below

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.heights[0] + self.below[self.start]

    def split(self, aw: float, ah: float) -> list[Flowable]:
        heights, start = self.heights, self.start
        h, end = heights[0], start
        while end < len(heights) and h + heights[end] <= ah:
            h += heights[end]
            end += 1
        if end == start:
            return []  # not even one row under the header: the next page
        page = self.make(start, end)
        if end == len(heights):
            return [page]
        return [page, _PagedRows(heights, self.make, self.width, end, self.below)]

    def draw(self) -> None:
        table = self.make(self.start, len(self.heights))
        table.wrapOn(self.canv, *self.wrap(self.width, 0))
        table.drawOn(self.canv, 0, 0)


_PAD_X, _PAD_Y = 6, 3  # Table's default padding of a cell: left and right, top and bottom


class _Page(Flowable):  # type: ignore[misc]
    """One page's piece of the report's table: the header and some rows.

    ``Table`` draws the shading and the rules; the cells are drawn here, where ``Table`` puts
    them (inside the cell's padding, in the middle of the row, right-aligned if numeric), in
    the same order. ``Table`` would draw each plain-text cell by ``Canvas.drawString``: a PDF
    text object of its own, and the text's width measured even when it is left-aligned, most
    of a long report's time. Here a row after row of plain text is one text object, and only
    a wrapped cell (a ``Paragraph``) is drawn by itself.
    """

    def __init__(
        self,
        rows: list[list[str | Paragraph]],
        heights: list[float],
        col_w: list[float],
        style: list[tuple[Any, ...]],
        looks: list[tuple[str, Any]],
        right: list[bool],
        text: tuple[float, float, Callable[[str, str], float]],
    ) -> None:
        super().__init__()
        self.rows, self.heights, self.col_w = rows, heights, col_w
        self.looks, self.right, self.text = looks, right, text
        # The shading and rules run across the whole row: a table of one column of empty
        # cells draws them (an empty list is a cell Table draws nothing in; "" is drawn).
        cells: list[list[Any]] = [[[]] for _ in rows]
        self.table = Table(cells, colWidths=[sum(col_w)], rowHeights=heights, style=style)

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        w: float
        h: float
        w, h = self.table.wrap(aw, ah)
        return w, h

    def draw(self) -> None:
        canv = self.canv
        self.table.drawOn(canv, 0, 0)
        size, leading, width_of = self.text
        xs = list(itertools.accumulate(self.col_w, initial=0.0))
        out = canv.beginText()
        look = None

        def flush() -> None:
            canv.saveState()
            canv.drawText(out)
            canv.restoreState()

        top = sum(self.heights)
        for cells, h, (font, color) in zip(self.rows, self.heights, self.looks, strict=True):
            top -= h  # the row's foot
            for i, v in enumerate(cells):
                if isinstance(v, Paragraph):
                    flush()
                    out, look = canv.beginText(), None
                    pw, ph = v.wrapOn(canv, self.col_w[i] - 2 * _PAD_X, h - 2 * _PAD_Y)
                    x = xs[i + 1] - _PAD_X - pw if self.right[i] else xs[i] + _PAD_X
                    v.drawOn(canv, x, top + (h + ph) / 2 - ph)  # Table's MIDDLE
                    continue
                if not v:
                    continue
                if look != (font, color):
                    out.setFont(font, size, leading)
                    out.setFillColor(color)
                    look = (font, color)
                lines = v.split("\n")
                y = top + (h + len(lines) * leading) / 2 - size  # Table's MIDDLE
                for line in lines:
                    if self.right[i]:
                        x = xs[i + 1] - _PAD_X - width_of(line, font)
                    else:
                        x = xs[i] + _PAD_X
                    out.setTextOrigin(x, y)
                    out.textLine(line)
                    y -= leading
        flush()


def _table(report: ReportTable, width: float, reg: str, bold: str) -> Flowable:
    """The report's rows as a table whose header repeats on every page.

    A year's day sheet is some 13,000 rows, so a cell is a plain string (drawn as it is) and
    only text too wide for its column becomes a wrapping ``Paragraph``.
    """
    cols = report.columns
    total_w = sum(c.width for c in cols)
    col_w = [c.width / total_w * width for c in cols]
    size, leading, pad = 8.5, 10.5, 6  # pad: how far a plain string may reach into the padding
    cell = ParagraphStyle("cell", fontName=reg, fontSize=size, leading=leading)
    right = ParagraphStyle("r", parent=cell, alignment=2)
    strong_l = ParagraphStyle("b", parent=cell, fontName=bold)
    strong_r = ParagraphStyle("br", parent=strong_l, alignment=2)
    head_l = ParagraphStyle("h", parent=strong_l, textColor="white")
    head_r = ParagraphStyle("hr", parent=head_l, alignment=2)

    width_of = functools.cache(lambda t, font: stringWidth(t, font, size))

    def fit(text: str, i: int, style: ParagraphStyle) -> str | Paragraph:
        if width_of(text, style.fontName) <= col_w[i] - pad:
            return text
        return Paragraph(escape(text), style)

    def row(values: tuple[Cell, ...], *, strong: bool = False) -> list[str | Paragraph]:
        return [
            fit(
                format_cell(c, v, report),
                i,
                (strong_r if strong else right) if c.numeric else (strong_l if strong else cell),
            )
            for i, (c, v) in enumerate(zip(cols, values, strict=True))
        ]

    data: list[list[str | Paragraph]] = [
        [fit(c.title, i, head_r if c.numeric else head_l) for i, c in enumerate(cols)]
    ]
    data += [row(r) for r in report.rows]
    if not report.rows:
        data.append([Paragraph("Nothing in this period.", cell)] + [""] * (len(cols) - 1))
    if report.totals is not None:
        data.append(row(report.totals, strong=True))

    def height(values: list[str | Paragraph]) -> float:
        """The row's height as ``Table`` measures it: its tallest cell (lines of text, or a
        Paragraph wrapped to its column) and the cells' top and bottom padding."""
        return 2 * _PAD_Y + max(
            v.wrap(col_w[i] - 2 * _PAD_X, 72000)[1]
            if isinstance(v, Paragraph)
            else leading * (v.count("\n") + 1)
            for i, v in enumerate(values)
        )

    # Table draws the shading and rules (the cells are _Page's: no fonts or alignment here).
    base: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, SHADE]),
    ]
    totals = [
        ("LINEABOVE", (0, -1), (-1, -1), 1, ACCENT),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
    ]
    heights = [height(r) for r in data]
    last = len(data)
    right = [c.numeric for c in cols]
    text = (size, leading, width_of)

    def make(first: int, end: int) -> Flowable:
        """The header and rows ``first`` to ``end``, their heights known."""
        with_totals = end == last and report.totals is not None
        looks = [(bold, colors.white)] + [(reg, colors.black)] * (end - first)
        if with_totals:
            looks[-1] = (bold, colors.black)
        return _Page(
            [data[0], *data[first:end]],
            [heights[0], *heights[first:end]],
            col_w,
            base + (totals if with_totals else []),
            looks,
            right,
            text,
        )

    return _PagedRows(heights, make, sum(col_w))
