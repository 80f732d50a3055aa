"""Saving and printing PDFs made by the services (the bytes are made off the GUI thread).

Printing opens the PDF in the system's viewer, whose print dialog sends it to any printer
(the Qt PDF module is not part of the installed Qt).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QWidget

from ..ops import run_op
from .billing_format import tr


def save_pdf(
    parent: QWidget,
    make: Callable[[], bytes],
    suggested: str,
    done: Callable[[Path], None] | None = None,
) -> None:
    """Ask where to save, then make the PDF off the GUI thread and write it there."""
    path, _ = QFileDialog.getSaveFileName(
        parent, tr("Save as PDF"), suggested, tr("PDF files (*.pdf)")
    )
    if not path:
        return
    target = Path(path) if path.lower().endswith(".pdf") else Path(path + ".pdf")

    def work() -> Path:
        target.write_bytes(make())
        return target

    run_op(parent, work, done or (lambda p: None), label=tr("Making the PDF…"))


def print_pdf(
    parent: QWidget,
    make: Callable[[], bytes],
    name: str,
    done: Callable[[Path], None] | None = None,
) -> None:
    """Make the PDF off the GUI thread and open it in the system viewer to print."""
    folder = Path(tempfile.mkdtemp(prefix="pms-print-"))

    def work() -> Path:
        target = folder / f"{name}.pdf"
        target.write_bytes(make())
        return target

    def opened(path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        if done:
            done(path)

    run_op(parent, work, opened, label=tr("Preparing to print…"))
