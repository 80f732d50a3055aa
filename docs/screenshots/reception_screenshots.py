"""Make the reception screenshots from a demo clinic (build one first with
``pms-desktop demo --data-dir DIR --patients N``):

    QT_QPA_PLATFORM=offscreen python docs/screenshots/reception_screenshots.py DIR [OUT_DIR]
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from pms_desktop.context import open_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.store.models import StaffUser
from pms_desktop.ui.main_window import MainWindow
from pms_desktop.ui.theme import apply_theme


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


def main(data_dir: Path, out: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app)
    ctx = open_context(data_dir)
    who = session_for(ctx, Role.RECEPTION)
    win = MainWindow(ctx, who)
    win.resize(1480, 920)
    win.show()
    book = win.screens["appointments"]
    pump(1500)
    book.set_date(date.today())
    pump(1200)
    appts = [a for a in book.view.appointments if a.status == "booked"]
    if appts:
        book.grid.select_appointment(appts[len(appts) // 2].id)
    pump(300)
    win.grab().save(str(out / "reception-appointment-book.png"))
    # The patient file of someone with an allergy or alert, if the demo has one.
    patients = ctx.patients.search(who, "murphy")
    target = patients[0].id if patients else appts[0].patient_id
    win.open_patient(target)
    pump(1500)
    win.grab().save(str(out / "reception-patient-file.png"))
    win.close_patient()
    screen = win.show_screen("patients")
    screen.search.setText("mur")
    pump(800)
    screen.register_new()
    dialog = screen.dialog
    for name, value in {
        "given": "Mary",
        "family": "Murphy",
        "birth_date": "17/05/1980",
        "phone": "087 12",
        "email": "mary.murphy@",
        "city": "Dublin",
    }.items():
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
