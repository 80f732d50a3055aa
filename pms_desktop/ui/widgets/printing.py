"""Printing a PDF the services made, through the system's print dialog.

The person picks the printer, copies and pages in Qt's print dialog on the GUI thread; then, on
the worker thread, the PDF is made, each page is rendered by pdfium (``pypdfium2``) at the
printer's resolution (at most 300 dpi) and painted onto the ``QPrinter`` (Qt supports painting on
a printer outside the GUI thread). Nothing is written to disk: no copy of a patient's document
lingers in a temporary folder.

``print_pdf(..., printer=p)`` skips the dialog (tests print to a PDF file this way).
"""

from __future__ import annotations

from collections.abc import Callable

import pypdfium2 as pdfium
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget

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
        paper = printer.paperRect(QPrinter.Unit.DevicePixel)
        for index in range(len(document)):
            if index:
                printer.newPage()
            page = document[index]
            bitmap = page.render(scale=dpi / 72, prefer_bgrx=True)
            # BGRx bytes are QImage's RGB32 on little-endian machines; copy() owns the pixels
            image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride,
                           QImage.Format.Format_RGB32).copy()
            size = QSizeF(image.size()).scaled(paper.size(), Qt.AspectRatioMode.KeepAspectRatio)
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
              printer: QPrinter | None = None) -> None:
    """Ask for a printer (unless one is given), then make and print the PDF off the GUI thread.

    ``done`` receives the number of pages sent to the printer.
    """
    chosen = printer or choose_printer(parent, parent.tr("Print %s") % title)
    if chosen is None:
        return

    def work() -> int:
        return paint_pdf(make(), chosen, title)

    run_op(parent, work, done or (lambda pages: None), label=parent.tr("Printing…"))
