"""Canary patient data typed into the real widgets: a patient registered at reception, found
again by name and by phone, the day's appointment card and the invoice printed; then every file
the application wrote is searched for it.

The main window runs with its settings (QSettings), temporary, home, config and cache folders
pointed at folders of the test's own; printing goes to a PDF "printer" in the folder the person
chose, the one place where the document is meant to be. Searched: those folders, the settings
file, the data folder; for the canaries as UTF-8, UTF-16 or base64, in any case, inside PDF
streams too (``leak_scan.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtPrintSupport import QPrinter

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.ui.widgets import printing
from pms_desktop.ui.widgets.settings import app_settings
from tests.reliability.figures import record
from tests.reliability.leak_scan import scan

pytestmark = pytest.mark.reliability

WAIT = 15_000
TYPED = {"given": "Orlathwyn", "family": "Brackenvole", "birth_date": "12/03/1969",
         "phone": "087 442 6619", "email": "orlathwyn@canary-mail.example",
         "address_line": "4 Quillimore Terrace"}
CANARIES = ["Orlathwyn", "Brackenvole", "0874426619", "087 442 6619", "Quillimore Terrace",
            "orlathwyn@canary-mail.example"]


@pytest.fixture
def settings_in(watched: dict[str, Path]):  # type: ignore[no-untyped-def]
    """QSettings files in the test's config folder; the usual place again afterwards."""
    usual = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    formats = (QSettings.Format.NativeFormat, QSettings.Format.IniFormat)
    for fmt in formats:
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(watched["config"]))
    yield
    for fmt in formats:
        QSettings.setPath(fmt, QSettings.Scope.UserScope, usual)


def test_canaries_typed_into_the_gui_stay_in_the_encrypted_store(
        qtbot, ctx, actors, watched: dict[str, Path], settings_in,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pms_desktop.ui.main_window import MainWindow

    rita = actors[Role.RECEPTION]
    win = MainWindow(ctx, rita)
    qtbot.addWidget(win)
    win.show()
    screen = win.screens["patients"]
    screen.register_new()
    dialog = screen.dialog
    for field, text in TYPED.items():
        dialog.inputs[field].setFocus()
        qtbot.keyClicks(dialog.inputs[field], text)
    with qtbot.waitSignal(dialog.patient_saved, timeout=WAIT) as saved:
        dialog.save_button.click()
    patient_id = saved.args[0]
    for query in ("Brackenv", "087 442"):
        screen.search.clear()
        qtbot.keyClicks(screen.search, query)
        screen.run_search()
        qtbot.waitUntil(lambda: screen.model.rowCount() == 1, timeout=WAIT)
    # Printing: the system's print dialog answered with a PDF "printer" in the chosen folder.
    printed = watched["exports"] / "printed.pdf"

    def pdf_printer(*_args: object) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        return printer

    monkeypatch.setattr(printing, "choose_printer", pdf_printer)
    manager = actors[Role.PRACTICE_MANAGER]
    ctx.billing.install_default_fee_schedule(manager)
    invoice = ctx.billing.create_invoice(manager, patient_id=patient_id,
                                         lines=[LineInput(fee_code="ECG")])
    pages: list[int] = []
    printing.print_pdf(win, lambda: ctx.billing.invoice_pdf(manager, invoice_id=invoice.id),
                       "invoice", pages.append)
    qtbot.waitUntil(lambda: pages != [], timeout=WAIT)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    ctx.scheduling.book(rita, patient_id=patient_id,
                        practitioner_id=ctx.scheduling.practitioners(rita)[0].id,
                        start_at=start, duration_minutes=15)
    win.close()  # the window keeps its layout in the settings on the way out
    app_settings().sync()
    settings_file = Path(app_settings().fileName())
    folders = [*(watched[k] for k in ("tmp", "home", "config", "cache")), ctx.data_dir]
    found, files = scan([*folders, *([settings_file] if settings_file.exists() else [])],
                        CANARIES, skip=[watched["exports"]])
    record("leaks of patient data (GUI)", trials=1, faults=len(CANARIES), leaks=len(found),
           files_scanned=files)
    assert str(watched["config"]) in str(settings_file)
    assert settings_file.exists()
    assert printed.exists()
    saved_pdf = watched["exports"] / "invoice.pdf"  # text, in compressed streams: the scan's check
    saved_pdf.write_bytes(ctx.billing.invoice_pdf(manager, invoice_id=invoice.id))
    assert scan([saved_pdf], CANARIES)[0], "the scan finds the canaries in a saved PDF"
    assert [str(f) for f in found] == []
