"""Screenshots of sync in the application from demo-like data (PMS_SCREENSHOTS=1 only).

Two workstations of one clinic edit the same patients and book the same practitioner while
apart; the second one's window then shows the status bar, the conflicts window (a record
changed on both sides, a double booking, a change the server refused) and the enrolment dialog.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt

from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import SyncConflict
from pms_desktop.ui.main_window import MainWindow
from pms_desktop.ui.sync.enrolment_dialog import EnrolmentDialog

WAIT = 20_000
AOIFE = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     phone="087 555 0142", address_line="12 Quay Street", city="Cork",
                     postal_code="T12 X7P4")
LIAM = PatientDraft(given="Liam", family="Walsh", birth_date="1979-11-20", sex="male",
                    phone="086 555 0199", city="Kinsale")
NIAMH = PatientDraft(given="Niamh", family="O'Connor", birth_date="1992-06-14", sex="female",
                     phone="085 555 0123", city="Cobh")


def _next_weekday_at(hour: int, zone: str) -> datetime:
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def shoot_all(qtbot: Any, workstations: Any, controllers: Any, folder: Path) -> None:
    a, b = workstations()
    ids = {d.given: a.ctx.patients.register_patient(a.actor, draft=d).id
           for d in (AOIFE, LIAM, NIAMH)}
    a.sync.run_sync()
    b.sync.run_sync()
    # Apart: both change Aoife's address and phone; both book Dr Kelly at ten.
    a.ctx.patients.update_patient(a.actor, patient_id=ids["Aoife"], draft=replace(
        AOIFE, address_line="4 Eyre Square", city="Galway", postal_code="H91 F2C3",
        phone="087 555 0177"))
    b.ctx.patients.update_patient(b.actor, patient_id=ids["Aoife"], draft=replace(
        AOIFE, address_line="Main Street", city="Sligo", postal_code="F91 K7W2"))
    doc = a.ctx.scheduling.practitioners(a.actor)[0].id
    zone = a.ctx.setup.clinic().timezone
    at = _next_weekday_at(10, zone)
    a.ctx.scheduling.book(a.actor, patient_id=ids["Aoife"], practitioner_id=doc, start_at=at,
                          duration_minutes=15)
    b.ctx.scheduling.book(b.actor, patient_id=ids["Liam"], practitioner_id=doc,
                          start_at=at + timedelta(minutes=5), duration_minutes=15)
    a.sync.run_sync()
    with b.ctx.db.sessions()() as s, s.begin():  # a change the server refused (shape as sent)
        s.add(SyncConflict(kind="rejected", resource_type="Patient", resource_id=ids["Niamh"],
                           field=None, created_at=datetime.now(UTC),
                           detail="Patient.birthDate: a date of birth cannot be in the future"))

    controller = controllers(b.ctx, first_after_ms=0, change_delay_ms=600_000)
    window = MainWindow(b.ctx, b.actor)
    qtbot.addWidget(window)
    window.resize(1360, 820)
    window.set_sync_controller(controller)
    window.show()
    controller.start()
    bar = window.sync_status
    qtbot.waitUntil(lambda: controller.syncs == 1 and bar.attention.isVisible(), timeout=WAIT)
    b.ctx.patients.update_patient(b.actor, patient_id=ids["Liam"],
                                  draft=replace(LIAM, phone="086 555 0100"))
    qtbot.waitUntil(lambda: bar.pending.isVisible(), timeout=WAIT)
    qtbot.wait(100)
    window.statusBar().grab().save(str(folder / "sync-status-bar.png"))

    qtbot.mouseClick(bar.attention, Qt.MouseButton.LeftButton)
    conflicts = bar.conflicts_window
    qtbot.waitUntil(lambda: conflicts.loaded and conflicts.model.rowCount() >= 3, timeout=WAIT)
    for row in range(conflicts.model.rowCount()):
        group = conflicts.model.item(row)
        conflicts.table.selectRow(row)
        qtbot.wait(50)
        name = {"field": "sync-conflicts", "double-booking": "sync-double-booking",
                "rejected": "sync-refused"}.get(group.kind)
        if name:
            conflicts.grab().save(str(folder / f"{name}.png"))

    dialog = EnrolmentDialog(b.ctx, b.actor, None, window)
    dialog.server_url.setText("https://sync.riverside-clinic.ie")
    dialog.code.setText("K7QM-2XWD-9HTR-B4NP")
    dialog.device_name.setText("Consulting room 2")
    dialog.show_errors({"code": dialog.tr(
        "The server did not accept this code: it may be mistyped, used already or expired. "
        "Ask for a new one.")})
    dialog.show()
    qtbot.wait(50)
    dialog.grab().save(str(folder / "sync-enrolment.png"))
    dialog.done_title.setText("Enrolled with Riverside Family Practice")
    dialog.pages.setCurrentIndex(1)
    dialog._progressed("pull", 5_320, 12_800)
    qtbot.wait(50)
    dialog.grab().save(str(folder / "sync-first-sync.png"))
    dialog.close()
