"""The clinic's heading and the house style every printed document shares (reportlab).

One place for how the clinic appears on paper: ``Letterhead`` is its identity as printed (name,
legal name, address, contacts, tax number, logo, footer text); ``letterhead_flowables`` draws
the heading (logo, name, contacts, an accent rule) at the top of an A4 document and
``compact_heading`` a smaller one for cards; ``page_decorator`` the footer on every page (legal
name, a note, the page number, and a stamp such as DRAFT across the page); ``styles`` the
paragraph styles; ``build_pdf`` a whole document with the house margins, in memory.

Invoices, receipts, statements and reports show the tax number (``tax=True``); clinical and
reception documents leave it out. Nothing here writes a file: every document is made as bytes,
so no copy of a patient's document lands in a temporary folder. No database, no Qt.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

ACCENT = colors.HexColor("#1f4e79")
INK = colors.HexColor("#17283a")
MUTED = colors.HexColor("#5f6b7a")
RULE = colors.HexColor("#d5dce4")
SHADE = colors.HexColor("#eef3f8")
ALERT = colors.HexColor("#b00020")
MARGIN: float = 18 * mm  # from the paper's edge to the text, left and right, every A4 document
TOP_MARGIN: float = 15 * mm
BOTTOM_MARGIN: float = 22 * mm  # room for the footer
FRAME_PADDING = 6  # points: platypus frames pad their content; margins are net of it
CONFIDENTIAL = "Confidential patient information"


def fonts() -> tuple[str, str]:
    """(regular, bold): DejaVu Sans (full Unicode: €, £, fadas, narrow spaces) when available."""
    if "PmsSans" in pdfmetrics.getRegisteredFontNames():
        return "PmsSans", "PmsSans-Bold"
    try:
        import matplotlib

        base = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
        pdfmetrics.registerFont(TTFont("PmsSans", os.path.join(base, "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("PmsSans-Bold", os.path.join(base, "DejaVuSans-Bold.ttf")))
        registerFontFamily(
            "PmsSans",
            normal="PmsSans",
            bold="PmsSans-Bold",
            italic="PmsSans",
            boldItalic="PmsSans-Bold",
        )
        return "PmsSans", "PmsSans-Bold"
    except Exception:  # noqa: BLE001 - fall back to the built-in fonts
        return "Helvetica", "Helvetica-Bold"


@dataclass(frozen=True)
class Letterhead:
    name: str
    legal_name: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    tax_id: str | None = None
    logo_png: bytes | None = None
    footer: str | None = None  # e.g. bank details, under invoices and reports

    def address_lines(self) -> list[str]:
        return [x.strip() for x in (self.address or "").splitlines() if x.strip()]

    def contacts(self) -> str:
        return " · ".join(x for x in (self.phone, self.email) if x)

    def contact_lines(self, *, tax: bool = True) -> list[str]:
        lines = self.address_lines() + [x for x in (self.phone, self.email) if x]
        if tax and self.tax_id:
            lines.append(f"Tax no. {self.tax_id}")
        return lines

    def one_line(self) -> str:
        """Address and contacts on one line (cards, narrow footers)."""
        return " · ".join(x for x in (", ".join(self.address_lines()), self.contacts()) if x)


def styles() -> dict[str, ParagraphStyle]:
    """The house paragraph styles: one set of sizes and colours for every document."""
    reg, bold = fonts()

    def style(name: str, font: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
        kw.setdefault("textColor", INK)
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, **kw)

    return {
        "clinic": style("clinic", bold, 16, 19, textColor=ACCENT),
        "small": style("small", reg, 8.5, 11, textColor=MUTED),
        "title": style("title", bold, 20, 24, textColor=ACCENT),
        "subtitle": style("subtitle", reg, 9, 12, textColor=MUTED),
        "h2": style("h2", bold, 13, 16, textColor=INK, spaceBefore=2, spaceAfter=1),
        "label": style("label", bold, 7.5, 10, textColor=MUTED),
        "body": style("body", reg, 9.5, 12.5),
        "bold": style("bold", bold, 9.5, 12.5),
        "cell": style("cell", reg, 9, 11.5),
        "cellb": style("cellb", bold, 9, 11.5),
        "head": style("head", bold, 8.5, 11, textColor=colors.white),
        "letter": style("letter", reg, 10.5, 14.5, spaceAfter=7),
        "letterb": style("letterb", bold, 10.5, 14.5, spaceBefore=4, spaceAfter=2),
    }


def _logo(head: Letterhead, max_h: float, max_w: float) -> Image | None:
    if not head.logo_png:
        return None
    try:
        w, h = ImageReader(io.BytesIO(head.logo_png)).getSize()
        scale = min(max_h / h, max_w / w)
        return Image(io.BytesIO(head.logo_png), width=w * scale, height=h * scale)
    except Exception:  # noqa: BLE001 - a broken logo must not stop the document
        return None


def _heading_table(cells: list[object], widths: list[float], pad: float) -> Table:
    table = Table([cells], colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, ACCENT),
                ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
            ]
        )
    )
    return table


def letterhead_flowables(head: Letterhead, width: float, *, tax: bool = True) -> list[Flowable]:
    """The clinic heading across ``width``: logo, name (and legal name), contacts on the right."""
    st = styles()
    text: list[Paragraph] = [Paragraph(escape(head.name), st["clinic"])]
    if head.legal_name and head.legal_name != head.name:
        text.append(Paragraph(escape(head.legal_name), st["small"]))
    contact = Paragraph("<br/>".join(escape(x) for x in head.contact_lines(tax=tax)), st["small"])
    cells: list[object] = [text, contact]
    widths = [width - 68 * mm, 68 * mm]
    logo = _logo(head, 20 * mm, 40 * mm)
    if logo is not None:
        cells.insert(0, logo)
        widths = [logo.drawWidth + 6 * mm, width - 68 * mm - logo.drawWidth - 6 * mm, 68 * mm]
    return [_heading_table(cells, widths, 8), Spacer(1, 8 * mm)]


def compact_heading(head: Letterhead, width: float) -> list[Flowable]:
    """The same heading for small formats (an A6 card): logo, name, one line of contacts."""
    st = styles()
    name = ParagraphStyle("clinic-compact", parent=st["clinic"], fontSize=12.5, leading=15)
    contact = ParagraphStyle("contact-compact", parent=st["small"], fontSize=7, leading=9)
    text = [Paragraph(escape(head.name), name), Paragraph(escape(head.one_line()), contact)]
    logo = _logo(head, 11 * mm, 24 * mm)
    if logo is None:
        return [_heading_table([text], [width], 4)]
    logo_w = logo.drawWidth + 4 * mm
    return [_heading_table([logo, text], [logo_w, width - logo_w], 4)]


def page_decorator(
    head: Letterhead,
    stamp: str | None = None,
    *,
    tax: bool = True,
    note: str | None = None,
) -> Callable[[Canvas, Any], None]:
    """The footer on every page: legal name, tax number (``tax``), ``note`` (by default the
    clinic's own footer text) and the page number; ``stamp`` (DRAFT, VOID) across the page."""
    reg, bold = fonts()
    left = " · ".join(
        x
        for x in (
            head.legal_name or head.name,
            f"Tax no. {head.tax_id}" if tax and head.tax_id else None,
            head.footer if note is None else note,
        )
        if x
    )[:150]

    def draw(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        page_w, page_h = canvas._pagesize
        if stamp:
            canvas.setFont(bold, 90)
            canvas.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.12))
            canvas.translate(page_w / 2, page_h / 2)
            canvas.rotate(35)
            canvas.drawCentredString(0, 0, stamp)
            canvas.rotate(-35)
            canvas.translate(-page_w / 2, -page_h / 2)
        x0 = doc.leftMargin + FRAME_PADDING
        x1 = page_w - doc.rightMargin - FRAME_PADDING
        canvas.setStrokeColor(RULE)
        canvas.line(x0, 14 * mm, x1, 14 * mm)
        canvas.setFont(reg, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(x0, 10 * mm, left)
        canvas.drawRightString(x1, 10 * mm, f"Page {doc.page}")
        canvas.restoreState()

    return draw


def table_style(
    rows: int, *, header: bool = True, stripes: bool = True, padding: float = 4
) -> list[tuple[Any, ...]]:
    """The house table: an accent header row, thin rules, every other row shaded."""
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
        ("LINEBELOW", (0, 1 if header else 0), (-1, -1), 0.4, RULE),
    ]
    if header:
        style += [
            ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ]
    if stripes and rows:
        first = 1 if header else 0
        style.append(("ROWBACKGROUNDS", (0, first), (-1, -1), [None, SHADE]))
    return style


def build_pdf(
    story: Sequence[Flowable],
    head: Letterhead,
    *,
    title: str,
    pagesize: tuple[float, float] = A4,
    stamp: str | None = None,
    tax: bool = True,
    note: str | None = None,
    author: str | None = None,
) -> bytes:
    """``story`` laid out with the house margins and footer; the PDF as bytes."""
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=MARGIN - FRAME_PADDING,
        rightMargin=MARGIN - FRAME_PADDING,
        topMargin=TOP_MARGIN - FRAME_PADDING,
        bottomMargin=BOTTOM_MARGIN - FRAME_PADDING,
        title=title,
        author=author or head.name,
    )
    deco = page_decorator(head, stamp, tax=tax, note=note)
    pdf.build(list(story), onFirstPage=deco, onLaterPages=deco)
    return buf.getvalue()


def text_width(pagesize: tuple[float, float] = A4) -> float:
    return pagesize[0] - 2 * MARGIN
