"""Make the reception screenshots from a demo clinic (build one first with
``pms-desktop demo --data-dir DIR --patients N``; the script changes its day, so use a fresh one):

    python docs/screenshots/reception_screenshots.py DIR [OUT_DIR]

It draws offscreen on a 1920 x 1080 desktop screen (screen-1920x1080.json beside it): on Qt's
default offscreen screen, 800 x 800, the registration form shrinks to fit and the windows differ.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from pms_desktop.context import open_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.store.models import StaffUser
from pms_desktop.ui.main_window import MainWindow
from pms_desktop.ui.theme import apply_theme

SCREEN = Path(__file__).resolve().with_name("screen-1920x1080.json")


def pump(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def session_for(ctx, role: Role) -> StaffSession:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        u = s.scalars(select(StaffUser).where(StaffUser.role == role.value)).first()
        return StaffSession(
            u.id,
            u.username,
            u.display_name,
            role,
            ctx.core.workstation_id,
            datetime.now(UTC),
            u.practitioner_id,
        )


def busy_day(ctx, who, doc, appointments) -> None:  # type: ignore[no-untyped-def]
    """A realistic morning: early patients seen, some in consultation, some waiting, one no-show."""
    for a in sorted(appointments, key=lambda a: a.start_at):
        local = a.start_at.astimezone(ZoneInfo("Europe/Dublin"))
        minutes = local.hour * 60 + local.minute
        if a.status != "booked":
            continue
        if minutes == 9 * 60 + 30 and "Nowak" not in a.practitioner_name:
            ctx.scheduling.no_show(who, appointment_id=a.id)
            continue
        if minutes < 11 * 60 + 15 or (minutes < 11 * 60 + 45 and minutes % 30 == 0):
            ctx.scheduling.check_in(who, appointment_id=a.id)
        if minutes < 10 * 60 + 45:
            ctx.scheduling.complete(who, appointment_id=a.id)
        elif minutes < 11 * 60 and "clinical" in ctx.services:
            ctx.clinical.start_encounter(doc, appointment_id=a.id)


def dressed_up(ctx, who, doc, patient_id: str) -> None:  # type: ignore[no-untyped-def]
    """Give the file shown a full set of details: emergency contact, cover, alert, allergy."""
    d = ctx.patients.get_patient(who, patient_id=patient_id).draft
    ctx.patients.update_patient(
        who,
        patient_id=patient_id,
        draft=replace(
            d,
            emergency_name="Seán " + d.family,
            emergency_relationship="Husband",
            emergency_phone="087 555 0199",
            coverage_payer="Laya Healthcare",
            coverage_member_id="LH-4471920",
            coverage_plan="Inspire Plus",
            preferred_name=d.given[:3] if len(d.given) > 4 else "",
            reception_notes="Prefers morning appointments. Send reminders by SMS.",
        ),
    )
    ctx.patients.add_alert(
        who, patient_id=patient_id, text="Hard of hearing: face the patient when speaking"
    )
    if "clinical" in ctx.services:
        ctx.clinical.add_allergy(
            doc, patient_id=patient_id, substance="Penicillin", reaction="hives", severity="severe"
        )


def main(data_dir: Path, out: Path) -> None:
    # before the application exists: Qt reads the platform once, when it starts
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN}"
    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app)
    ctx = open_context(data_dir)
    who = session_for(ctx, Role.RECEPTION)
    win = MainWindow(ctx, who)
    win.resize(1480, 920)
    win.show()
    book = win.screens["appointments"]
    pump(1500)
    day = date.today()
    while day.weekday() >= 5:  # a working day of the demo clinic
        day += timedelta(days=1)
    book.set_columns([p.id for p in book.all_practitioners][:6])
    pump(800)
    book.set_date(day)
    pump(1200)
    busy_day(ctx, who, session_for(ctx, Role.CLINICIAN), book.view.appointments)
    pump(1500)
    book.scroll.verticalScrollBar().setValue(0)
    appts = [a for a in book.view.appointments if a.status == "booked"]
    if appts:
        book.grid.select_appointment(appts[len(appts) // 2].id)
    pump(300)
    win.grab().save(str(out / "reception-appointment-book.png"))
    target = appts[0].patient_id
    dressed_up(ctx, who, session_for(ctx, Role.CLINICIAN), target)
    win.open_patient(target)
    pump(1500)
    win.grab().save(str(out / "reception-patient-file.png"))
    win.close_patient()
    screen = win.show_screen("patients")
    screen.search.setText("mur")
    pump(800)
    screen.register_new()
    dialog = screen.dialog
    twin = ctx.patients.get_patient(who, patient_id=target)
    family = twin.draft.family
    typed = {
        "given": twin.draft.given,
        "family": family[:-1] + "e" + family[-1],
        "birth_date": f"{twin.birth_date:%d/%m/%Y}",
        "phone": "087 12",
        "email": f"{twin.draft.given.lower()}@",
        "city": twin.draft.city,
    }
    for name, value in typed.items():
        dialog.set_field(name, value)
    dialog.show_errors(
        {
            "phone": "A phone number has 6 to 15 digits.",
            "email": "Not an e-mail address (for example name@example.com).",
        }
    )
    dialog.check_duplicates()
    pump(1500)
    dialog.grab().save(str(out / "reception-registration.png"))
    ctx.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent)
