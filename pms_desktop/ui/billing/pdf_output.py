"""Saving and printing PDFs made by the services (the bytes are made off the GUI thread).

Printing goes through the system's print dialog (``ui/widgets/printing.py``); nothing is
written to a temporary file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget

from ..widgets import printing
from .billing_format import tr


def save_pdf(
    parent: QWidget,
    make: Callable[[], bytes],
    suggested: str,
    done: Callable[[Path], None] | None = None,
) -> None:
    """Ask where to save, then make the PDF off the GUI thread and write it there."""
    printing.save_pdf(parent, make, suggested, done, caption=tr("Save as PDF"))


def print_pdf(
    parent: QWidget,
    make: Callable[[], bytes],
    name: str,
    done: Callable[[int], None] | None = None,
    *,
    printer: QPrinter | None = None,
) -> None:
    """The system's print dialog, then the PDF made and printed off the GUI thread."""
    printing.print_pdf(parent, make, name, done, printer=printer)


def print_receipt(parent: QWidget, ctx: Any, session: Any, payment: Any) -> None:
    """The receipt of a payment just recorded (or chosen), through the print dialog."""
    print_pdf(
        parent,
        lambda: ctx.payments.receipt_pdf(session, payment_id=payment.id),
        payment.receipt_number or tr("receipt"),
    )


def save_receipt(parent: QWidget, ctx: Any, session: Any, payment: Any,
                 done: Callable[[Path], None] | None = None) -> None:
    save_pdf(
        parent,
        lambda: ctx.payments.receipt_pdf(session, payment_id=payment.id),
        f"{payment.receipt_number or 'receipt'}.pdf",
        done,
    )
