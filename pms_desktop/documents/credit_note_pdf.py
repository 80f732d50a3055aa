"""The credit note as PDF: which invoice it corrects, why, the lines credited and the totals."""

from __future__ import annotations

from .finance_layout import Column, FinanceDocument, render_finance_document
from .letterhead import Letterhead

CREDIT_NOTE_COLUMNS = [
    Column("Description", 0.52),
    Column("Net", 0.16, "RIGHT"),
    Column("Tax", 0.14, "RIGHT"),
    Column("Amount", 0.18, "RIGHT"),
]


def render_credit_note_pdf(
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
            title="Credit note",
            reference=reference,
            party_heading="Credited to",
            party_lines=patient_lines,
            columns=CREDIT_NOTE_COLUMNS,
            rows=rows,
            totals=totals,
            notes=notes,
            subject=" ".join(v for _, v in reference[:1]),
        ),
        head,
    )
