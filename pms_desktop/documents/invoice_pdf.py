"""The invoice as PDF: the clinic's letterhead, the patient, the lines, tax and totals.

The billing service fills the text (amounts already formatted in the clinic's currency and
locale); a draft or void invoice carries a stamp across the page. No database, no Qt.
"""

from __future__ import annotations

from .finance_layout import Column, FinanceDocument, render_finance_document
from .letterhead import Letterhead

INVOICE_COLUMNS = [
    Column("Code", 0.12),
    Column("Description", 0.32),
    Column("Qty", 0.06, "RIGHT"),
    Column("Unit price", 0.13, "RIGHT"),
    Column("Discount", 0.12, "RIGHT"),
    Column("Tax", 0.09, "RIGHT"),
    Column("Net", 0.16, "RIGHT"),
]


def render_invoice_pdf(
    *,
    head: Letterhead,
    title: str,
    reference: list[tuple[str, str]],
    patient_lines: list[str],
    rows: list[list[str]],
    totals: list[tuple[str, str]],
    notes: list[str],
    stamp: str | None = None,
) -> bytes:
    """``rows`` follow INVOICE_COLUMNS; the last of ``totals`` is the amount due."""
    return render_finance_document(
        FinanceDocument(
            title=title,
            reference=reference,
            party_heading="Bill to",
            party_lines=patient_lines,
            columns=INVOICE_COLUMNS,
            rows=rows,
            totals=totals,
            notes=notes,
            stamp=stamp,
            subject=" ".join(v for _, v in reference[:1]),
        ),
        head,
    )
