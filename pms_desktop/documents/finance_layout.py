"""The shared layout of financial documents: invoices, receipts, credit notes and statements.

``FinanceDocument`` is one of them already turned into text by the service (amounts formatted
in the clinic's currency and locale). ``render_finance_document`` lays it out under the clinic's
letterhead (``letterhead.py``): title and reference block, the bill-to party, the lines table,
the totals, notes, and the footer with the legal name, tax number and page number on every page.
No database, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from .letterhead import (
    ACCENT,
    SHADE,
    Letterhead,
    build_pdf,
    letterhead_flowables,
    styles,
    table_style,
    text_width,
)

ALIGN = {"LEFT": 0, "CENTER": 1, "RIGHT": 2}


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


def _heading_block(doc: FinanceDocument, width: float) -> Table:
    st = styles()
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
    st = styles()
    head = [
        Paragraph(escape(c.title), ParagraphStyle("h", parent=st["head"], alignment=ALIGN[c.align]))
        for c in columns
    ]
    cell = {a: ParagraphStyle(f"c{a}", parent=st["cell"], alignment=n) for a, n in ALIGN.items()}
    body = [
        [Paragraph(escape(v), cell[c.align]) for v, c in zip(r, columns, strict=False)]
        for r in rows
    ]
    table = Table([head] + body, colWidths=[c.width * width for c in columns], repeatRows=1)
    table.setStyle(TableStyle(table_style(len(rows))))
    return table


def totals_table(totals: list[tuple[str, str]], width: float) -> Table:
    st = styles()
    last = len(totals) - 1
    rows = [
        [
            Paragraph(escape(k), st["bold"] if i == last else st["body"]),
            Paragraph(
                escape(v),
                ParagraphStyle("r", parent=st["bold"] if i == last else st["body"], alignment=2),
            ),
        ]
        for i, (k, v) in enumerate(totals)
    ]
    table = Table(rows, colWidths=[45 * mm, 35 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, last), (-1, last), 1, ACCENT),
                ("BACKGROUND", (0, last), (-1, last), SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def render_finance_document(doc: FinanceDocument, head: Letterhead) -> bytes:
    width = text_width()
    st = styles()
    story: list[Flowable] = letterhead_flowables(head, width, tax=True)
    story += [_heading_block(doc, width), Spacer(1, 8 * mm)]
    story += [lines_table(doc.columns, doc.rows, width), Spacer(1, 5 * mm)]
    story.append(totals_table(doc.totals, width))
    if doc.notes:
        story.append(Spacer(1, 8 * mm))
        story += [Paragraph(escape(n), st["small"]) for n in doc.notes]
    return build_pdf(story, head, title=doc.subject or doc.title, stamp=doc.stamp, tax=True)
