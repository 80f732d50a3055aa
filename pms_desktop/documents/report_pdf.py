"""Reports as plain data, their chart, and their PDF.

``ReportTable`` is what the reports service hands out: columns, raw rows (money as integer minor
units, rates as Decimal), a totals row, the basis it counts by (invoice, payment or appointment
date) and an optional chart. ``build_chart_figure`` makes one matplotlib figure (no pyplot, so it
is safe off the GUI thread): the screen embeds it and the PDF prints it, so both show the same.
No database, no Qt.
"""

from __future__ import annotations

import io
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
    LongTable,
    Paragraph,
    Spacer,
    TableStyle,
)

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
        return f"{value.day} {value:%b %Y}"
    return str(value)


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

    ReportLab splits a long table at a page break by building a new table of every row left,
    so a table of n rows costs about n squared / rows-a-page (a year's day sheet, 13,000 rows,
    took over half a minute). This flowable hands the frame a table of only the next
    ``chunk`` rows (about a page and a half), splits that, and keeps the rest for later.
    """

    def __init__(
        self,
        head: list[Any],
        rows: list[list[Any]],
        make: Callable[[list[list[Any]], bool], LongTable],
        chunk: int = 64,
    ) -> None:
        super().__init__()
        self.head, self.rows, self.make, self.chunk = head, rows, make, chunk
        self._table: LongTable | None = None

    def _next(self) -> LongTable:
        if self._table is None:
            part = [self.head, *self.rows[: self.chunk]]
            self._table = self.make(part, len(self.rows) <= self.chunk)
        return self._table

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        w, h = self._next().wrap(aw, ah)
        # More rows than one table holds: never fits here, so the frame asks to split.
        return w, (h if len(self.rows) <= self.chunk else max(h, ah) + 1)

    def split(self, aw: float, ah: float) -> list[Flowable]:
        parts: list[Flowable] = self._next().split(aw, ah)
        if len(parts) == 1 and len(self.rows) > self.chunk:
            # The whole chunk fits on this page: take more rows at once (never a header
            # in the middle of a page).
            return _PagedRows(self.head, self.rows, self.make, self.chunk * 2).split(aw, ah)
        if len(parts) < 2:
            return parts
        used = len(parts[0]._cellvalues) - 1  # without the repeated header
        return [parts[0], *self._rest(used)]

    def _rest(self, used: int) -> list[Flowable]:
        rest = self.rows[used:]
        return [_PagedRows(self.head, rest, self.make, self.chunk)] if rest else []

    def draw(self) -> None:
        self._next().drawOn(self.canv, 0, 0)


def _table(report: ReportTable, width: float, reg: str, bold: str) -> Flowable:
    """The report's rows as a table whose header repeats on every page.

    A year's day sheet is some 13,000 rows, so a cell is a plain string (drawn as it is) and
    only text too wide for its column becomes a wrapping ``Paragraph``.
    """
    cols = report.columns
    total_w = sum(c.width for c in cols)
    col_w = [c.width / total_w * width for c in cols]
    size, leading, pad = 8.5, 10.5, 6  # pad: Table's default left + right padding
    cell = ParagraphStyle("cell", fontName=reg, fontSize=size, leading=leading)
    right = ParagraphStyle("r", parent=cell, alignment=2)
    strong_l = ParagraphStyle("b", parent=cell, fontName=bold)
    strong_r = ParagraphStyle("br", parent=strong_l, alignment=2)
    head_l = ParagraphStyle("h", parent=strong_l, textColor="white")
    head_r = ParagraphStyle("hr", parent=head_l, alignment=2)

    def fit(text: str, i: int, style: ParagraphStyle) -> str | Paragraph:
        if stringWidth(text, style.fontName, size) <= col_w[i] - pad:
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
    base: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), reg, size, leading),
        ("FONT", (0, 0), (-1, 0), bold, size, leading),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        # One command for the stripes: a split table copies every style command.
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, SHADE]),
    ]
    base += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i, c in enumerate(cols) if c.numeric]
    totals = [
        ("FONT", (0, -1), (-1, -1), bold, size, leading),
        ("LINEABOVE", (0, -1), (-1, -1), 1, ACCENT),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
    ]

    def make(part: list[list[Any]], last: bool) -> LongTable:
        table = LongTable(part, colWidths=col_w, repeatRows=1)
        table.setStyle(TableStyle(base + (totals if last and report.totals is not None else [])))
        return table

    return _PagedRows(data[0], data[1:], make)
