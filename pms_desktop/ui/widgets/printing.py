"""Printing a PDF the services made, through the system's print dialog, or saving it.

The person picks the printer, copies and pages in Qt's print dialog on the GUI thread; then, on
the worker thread, the PDF is made, each page is rendered by pdfium (``pypdfium2``) at the
printer's resolution (at most 300 dpi) and painted onto the ``QPrinter`` (Qt supports painting on
a printer outside the GUI thread). Nothing is written to disk: no copy of a patient's document
lingers in a temporary folder.

``print_pdf(..., printer=p)`` skips the dialog (tests print to a PDF file this way).
``save_pdf`` asks where to save, then makes the PDF off the GUI thread and writes it there
(through a hidden partial file beside it, so a failed save never leaves half a PDF).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from ...domain.errors import UserError
from ..ops import run_op

MAX_DPI = 300


class PrintFailed(UserError):
    """The printer would not start the job."""


def _new_printer() -> QPrinter:
    return QPrinter(QPrinter.PrinterMode.HighResolution)


def choose_printer(parent: QWidget, title: str) -> QPrinter | None:
    """The system's print dialog; None when the person cancels."""
    printer = _new_printer()
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(title)
    return printer if dialog.exec() == QDialog.DialogCode.Accepted else None


def paint_pdf(pdf: bytes, printer: QPrinter, title: str) -> int:
    """Paint every page of ``pdf`` onto ``printer`` (any thread); returns the pages printed."""
    printer.setDocName(title)
    printer.setFullPage(True)  # the PDF carries its own margins
    document = pdfium.PdfDocument(pdf)
    painter = QPainter()
    try:
        if not painter.begin(printer):
            raise PrintFailed("The printer could not start the job. Check that it is on and "
                              "connected, then try again.")
        dpi = min(printer.resolution(), MAX_DPI)
        device = printer.resolution() / 72  # device pixels a PDF point
        paper = printer.paperRect(QPrinter.Unit.DevicePixel)
        for index in range(len(document)):
            if index:
                printer.newPage()
            page = document[index]
            bitmap = page.render(scale=dpi / 72, prefer_bgrx=True)
            # BGRx bytes are QImage's RGB32 on little-endian machines; copy() owns the pixels
            image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride,
                           QImage.Format.Format_RGB32).copy()
            # At its own size (an A6 card stays card-sized on A4), shrunk only to fit the paper
            size = QSizeF(page.get_width() * device, page.get_height() * device)
            if size.width() > paper.width() or size.height() > paper.height():
                size = size.scaled(QSizeF(paper.size()), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(QRectF(paper.topLeft(), size), image)
            bitmap.close()
            page.close()
        return len(document)
    finally:
        if painter.isActive():
            painter.end()
        document.close()


def print_pdf(parent: QWidget, make: Callable[[], bytes], title: str,
              done: Callable[[int], None] | None = None, *,
              printer: QPrinter | None = None,
              failed: Callable[[BaseException], None] | None = None) -> None:
    """Ask for a printer (unless one is given), then make and print the PDF off the GUI thread.

    ``done`` receives the number of pages sent to the printer; ``failed`` the error, if any
    (by default it is shown). Cancelling the dialog does nothing at all.
    """
    chosen = printer or choose_printer(parent, parent.tr("Print %s") % title)
    if chosen is None:
        return

    def work() -> int:
        return paint_pdf(make(), chosen, title)

    run_op(parent, work, done or (lambda pages: None), failed, label=parent.tr("Printing…"))


def ask_pdf_path(parent: QWidget, caption: str, suggested: str) -> Path | None:
    """The save dialog for a PDF; None when the person cancels."""
    path, _ = QFileDialog.getSaveFileName(parent, caption, suggested,
                                          parent.tr("PDF files (*.pdf)"))
    if not path:
        return None
    return Path(path) if path.lower().endswith(".pdf") else Path(path + ".pdf")


def write_file(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` whole or not at all (any thread)."""
    partial = target.with_name(f".{target.name}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def save_pdf(parent: QWidget, make: Callable[[], bytes], suggested: str,
             done: Callable[[Path], None] | None = None, *,
             path: Path | None = None, caption: str | None = None,
             failed: Callable[[BaseException], None] | None = None) -> None:
    """Ask where to save (unless ``path`` is given), then make the PDF off the GUI thread and
    write it there; ``done`` receives the path written."""
    target = path or ask_pdf_path(parent, caption or parent.tr("Save as PDF"), suggested)
    if target is None:
        return
    run_op(parent, lambda: write_file(target, make()), done or (lambda p: None), failed,
           label=parent.tr("Making the PDF…"))
