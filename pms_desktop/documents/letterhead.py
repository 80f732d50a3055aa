"""The clinic's letterhead and the shared layout of financial documents (reportlab, A4).

``Letterhead`` is the clinic's identity as printed (name, address, contacts, tax number, logo);
``FinanceDocument`` is an invoice, receipt, credit note or statement already turned into text by
the service (amounts formatted in the clinic's currency and locale). ``render_finance_document``
lays it out: letterhead, title and reference block, the bill-to party, the lines table, the
totals, notes, and a footer with the legal name, tax number and page number on every page.
No database, no Qt.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
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
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

ACCENT = colors.HexColor("#1f4e79")
MUTED = colors.HexColor("#5f6b7a")
RULE = colors.HexColor("#d5dce4")
SHADE = colors.HexColor("#eef3f8")
MARGIN = 18 * mm


def fonts() -> tuple[str, str]:
    """(regular, bold): DejaVu Sans (full Unicode: €, £, narrow spaces) when available."""
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
    footer: str | None = None

    def contact_lines(self) -> list[str]:
        lines = [x.strip() for x in (self.address or "").splitlines() if x.strip()]
        contacts = " · ".join(x for x in (self.phone, self.email) if x)
        if contacts:
            lines.append(contacts)
        if self.tax_id:
            lines.append(f"Tax no. {self.tax_id}")
        return lines


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # fraction of the text width
    align: str = "LEFT"  # LEFT | RIGHT | CENTER


@dataclass(frozen=True)
class FinanceDocument:
    title: str  # "Invoice", "Receipt", ...
    reference: list[tuple[str, str]]  # ("Invoice no.", "INV-..."), ("Date", ...)
    party_heading: str  # "Bill to"
    party_lines: list[str]
    columns: list[Column]
    rows: list[list[str]]
    totals: list[tuple[str, str]]  # the last one is the grand total (bold)
    notes: list[str] = field(default_factory=list)
    stamp: str | None = None  # "DRAFT", "VOID", "PAID" across the page
    subject: str = ""


def _styles() -> dict[str, ParagraphStyle]:
    reg, bold = fonts()
    return {
        "clinic": ParagraphStyle(
            "clinic", fontName=bold, fontSize=16, leading=19, textColor=ACCENT
        ),
        "small": ParagraphStyle("small", fontName=reg, fontSize=8.5, leading=11, textColor=MUTED),
        "title": ParagraphStyle("title", fontName=bold, fontSize=20, leading=24, textColor=ACCENT),
        "label": ParagraphStyle("label", fontName=bold, fontSize=7.5, leading=10, textColor=MUTED),
        "body": ParagraphStyle("body", fontName=reg, fontSize=9.5, leading=12.5),
        "cell": ParagraphStyle("cell", fontName=reg, fontSize=9, leading=11.5),
        "bold": ParagraphStyle("bold", fontName=bold, fontSize=9.5, leading=12.5),
    }


def letterhead_flowables(head: Letterhead, width: float) -> list[object]:
    st = _styles()
    text = [Paragraph(escape(head.name), st["clinic"])]
    if head.legal_name and head.legal_name != head.name:
        text.append(Paragraph(escape(head.legal_name), st["small"]))
    contact = Paragraph("<br/>".join(escape(x) for x in head.contact_lines()), st["small"])
    cells: list[object] = [text, contact]
    widths: list[float | None] = [None, 68 * mm]
    if head.logo_png:
        try:
            reader = ImageReader(io.BytesIO(head.logo_png))
            w, h = reader.getSize()
            scale = min(20 * mm / h, 40 * mm / w)
            cells.insert(0, Image(io.BytesIO(head.logo_png), width=w * scale, height=h * scale))
            widths.insert(0, w * scale + 6 * mm)
        except Exception:  # noqa: BLE001 - a broken logo must not stop the invoice
            cells = cells[-2:]
    widths[-2] = width - sum(w for w in widths if w is not None)
    table = Table([cells], colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, ACCENT),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return [table, Spacer(1, 8 * mm)]


def _heading_block(doc: FinanceDocument, width: float) -> Table:
    st = _styles()
    party = [Paragraph(escape(doc.party_heading.upper()), st["label"])] + [
        Paragraph(escape(x), st["bold"] if i == 0 else st["body"])
        for i, x in enumerate(doc.party_lines)
    ]
    ref_rows = [
        [Paragraph(escape(k), st["label"]), Paragraph(escape(v), st["body"])]
        for k, v in doc.reference
    ]
    refs = Table(ref_rows, colWidths=[28 * mm, 45 * mm])
    refs.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    left = [Paragraph(escape(doc.title), st["title"]), Spacer(1, 5 * mm)] + party
    block = Table([[left, refs]], colWidths=[width - 75 * mm, 75 * mm])
    block.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    return block


def lines_table(columns: list[Column], rows: list[list[str]], width: float) -> Table:
    st = _styles()
    reg, bold = fonts()
    head = [
        Paragraph(
            escape(c.title),
            ParagraphStyle(
                "h",
                parent=st["cell"],
                fontName=bold,
                fontSize=8.5,
                textColor=colors.white,
                alignment={"LEFT": 0, "CENTER": 1, "RIGHT": 2}[c.align],
            ),
        )
        for c in columns
    ]
    body = [
        [
            Paragraph(
                escape(v),
                ParagraphStyle(
                    "c", parent=st["cell"], alignment={"LEFT": 0, "CENTER": 1, "RIGHT": 2}[c.align]
                ),
            )
            for v, c in zip(r, columns, strict=False)
        ]
        for r in rows
    ]
    table = Table([head] + body, colWidths=[c.width * width for c in columns], repeatRows=1)
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
    ]
    style += [("BACKGROUND", (0, i), (-1, i), SHADE) for i in range(2, len(rows) + 1, 2)]
    table.setStyle(TableStyle(style))
    return table


def totals_table(totals: list[tuple[str, str]], width: float) -> Table:
    st = _styles()
    rows = [
        [
            Paragraph(escape(k), st["bold"] if i == len(totals) - 1 else st["body"]),
            Paragraph(
                escape(v),
                ParagraphStyle(
                    "r", parent=st["bold"] if i == len(totals) - 1 else st["body"], alignment=2
                ),
            ),
        ]
        for i, (k, v) in enumerate(totals)
    ]
    table = Table(rows, colWidths=[45 * mm, 35 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, len(rows) - 1), (-1, len(rows) - 1), 1, ACCENT),
                ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def page_decorator(head: Letterhead, stamp: str | None) -> Callable[[Canvas, Any], None]:
    reg, bold = fonts()

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
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, 14 * mm, page_w - MARGIN, 14 * mm)
        canvas.setFont(reg, 7.5)
        canvas.setFillColor(MUTED)
        left = " · ".join(
            x
            for x in (
                head.legal_name or head.name,
                f"Tax no. {head.tax_id}" if head.tax_id else None,
                head.footer,
            )
            if x
        )
        canvas.drawString(MARGIN, 10 * mm, left[:150])
        canvas.drawRightString(page_w - MARGIN, 10 * mm, f"Page {doc.page}")
        canvas.restoreState()

    return draw


def render_finance_document(doc: FinanceDocument, head: Letterhead) -> bytes:
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=15 * mm,
        bottomMargin=22 * mm,
        title=doc.subject or doc.title,
        author=head.name,
    )
    width = A4[0] - 2 * MARGIN
    st = _styles()
    story: list[object] = letterhead_flowables(head, width)
    story += [_heading_block(doc, width), Spacer(1, 8 * mm)]
    story += [lines_table(doc.columns, doc.rows, width), Spacer(1, 5 * mm)]
    story.append(totals_table(doc.totals, width))
    if doc.notes:
        story.append(Spacer(1, 8 * mm))
        story += [Paragraph(escape(n), st["small"]) for n in doc.notes]
    deco = page_decorator(head, doc.stamp)
    pdf.build(story, onFirstPage=deco, onLaterPages=deco)
    return buf.getvalue()
