"""The patient's account statement as PDF: every invoice, credit, payment and refund with a
running balance, and the balance due."""

from __future__ import annotations

from .finance_layout import Column, FinanceDocument, render_finance_document
from .letterhead import Letterhead

STATEMENT_COLUMNS = [
    Column("Date", 0.12),
    Column("Reference", 0.22),
    Column("Description", 0.27),
    Column("Charges", 0.13, "RIGHT"),
    Column("Credits", 0.13, "RIGHT"),
    Column("Balance", 0.13, "RIGHT"),
]


def render_statement_pdf(
    *,
    head: Letterhead,
    reference: list[tuple[str, str]],
    patient_lines: list[str],
    rows: list[list[str]],
    totals: list[tuple[str, str]],
    notes: list[str],
) -> bytes:
    return render_finance_document(
        FinanceDocument(
            title="Statement of account",
            reference=reference,
            party_heading="Patient",
            party_lines=patient_lines,
            columns=STATEMENT_COLUMNS,
            rows=rows,
            totals=totals,
            notes=notes,
            subject="Statement",
        ),
        head,
    )
