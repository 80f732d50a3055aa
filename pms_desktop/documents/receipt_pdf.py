"""The receipt as PDF: money received (or refunded), how, and what it paid."""

from __future__ import annotations

from .finance_layout import Column, FinanceDocument, render_finance_document
from .letterhead import Letterhead

RECEIPT_COLUMNS = [Column("Applied to", 0.62), Column("Amount", 0.38, "RIGHT")]


def render_receipt_pdf(
    *,
    head: Letterhead,
    title: str,
    reference: list[tuple[str, str]],
    patient_lines: list[str],
    rows: list[list[str]],
    totals: list[tuple[str, str]],
    notes: list[str],
) -> bytes:
    return render_finance_document(
        FinanceDocument(
            title=title,
            reference=reference,
            party_heading="Received from",
            party_lines=patient_lines,
            columns=RECEIPT_COLUMNS,
            rows=rows,
            totals=totals,
            notes=notes,
            subject=" ".join(v for _, v in reference[:1]),
        ),
        head,
    )
