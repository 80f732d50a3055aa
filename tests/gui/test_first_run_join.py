"""A new computer joins the clinic through the first-run wizard, against the real sync server.

"Join our clinic's existing setup": a mistake marks its field and keeps what was typed (nothing
is sent); a server out of reach and a mistyped clinic key code can be corrected and retried
without starting over, and leave no half-made clinic in the data folder; then the recovery
secret, the first sync with its progress bar, and the sign-in where the clinic's own staff sign
in. The computer gets a workstation record with a series code of its own.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.security.totp import current_code
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.services.workstation_join import STAGING
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Workstation
from pms_desktop.sync import engine as sync_engine
from pms_desktop.sync import sync_state
from pms_desktop.ui.app import start_after_first_run
from pms_desktop.ui.auth.first_run_wizard import FirstRunWizard
from pms_desktop.ui.ops import wait_for_idle
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.gui.sync_gui_support import free_port
from tests.sync import conftest as e2e
from tests.sync.sync_server_helpers import holdings

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("themed")]
SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 30_000
DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork", phone="087 555 0142")

make_workstations = e2e.make_workstations


def _next(qtbot: Any, wizard: FirstRunWizard) -> None:
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)


def _type(qtbot: Any, edit: Any, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)


def _settled(qtbot: Any, wizard: FirstRunWizard, field: str) -> None:
    form = wizard.join_page.form
    qtbot.waitUntil(lambda: not wizard.busy and form.inputs[field].property("invalid") is True,
                    timeout=WAIT)


def _shot(qtbot: Any, widget: Any, name: str) -> None:
    qtbot.wait(50)  # laid out again after the last change
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / name))


def test_a_new_computer_joins_the_clinic_through_the_wizard(  # type: ignore[no-untyped-def]
        qtbot, tmp_path, sync_server, make_workstations, monkeypatch) -> None:
    [first] = make_workstations(1)  # the clinic already works with the server
    for i in range(8):
        first.ctx.patients.register_patient(first.actor, draft=replace(DRAFT, given=f"Pat{i}"))
    first.sync.run_sync()
    key_code = first.sync.issue_clinic_key_code(e2e._actor(first.ctx, "admin"))
    with first.ctx.db.sessions()() as s:
        clinic_id = str(sync_state.get(s, sync_state.CLINIC_ID))
    monkeypatch.setattr(sync_engine, "PULL_PAGE", 4)  # a small clinic in several pages

    folder = tmp_path / "new-computer"
    wizard = FirstRunWizard(folder)
    qtbot.addWidget(wizard)
    wizard.show()
    _shot(qtbot, wizard, "auth-first-run-start.png")
    qtbot.mouseClick(wizard.start_page.join_card, Qt.MouseButton.LeftButton)
    _next(qtbot, wizard)
    page, form = wizard.join_page, wizard.join_page.form
    assert wizard.currentPage() is page

    # Mistakes are marked where they are, what was typed stays, and nothing is sent.
    _type(qtbot, form.server_url, "sync.riverside.example")
    form.device_name.clear()
    _next(qtbot, wizard)
    for field in ("server_url", "code", "clinic_key_code", "device_name"):
        assert form.inputs[field].property("invalid") is True, field
    assert form.server_url.text() == "sync.riverside.example"
    assert "https://" in form.errors["server_url"].text()
    assert not (folder / STAGING).exists() and wizard.currentPage() is page

    # Nobody answers at the address: the field says so; nothing is half-made in the folder.
    _type(qtbot, form.server_url, f"http://127.0.0.1:{free_port()}")
    _type(qtbot, form.code, sync_server.enrol_code(clinic_id))
    _type(qtbot, form.device_name, "Consulting room 2")
    mistyped = key_code[:-1] + ("A" if key_code[-1] != "A" else "B")
    _type(qtbot, form.clinic_key_code, mistyped)
    assert not form.server_url.property("invalid")  # cleared as it was corrected
    _shot(qtbot, wizard, "auth-first-run-join.png")
    _next(qtbot, wizard)
    _settled(qtbot, wizard, "server_url")
    assert "No sync server answered" in form.errors["server_url"].text()
    assert not wizard.joining.enrolled and not ClinicDatabase.exists(folder)

    # The right address: enrolled, but the clinic key code is mistyped: only it is left.
    _type(qtbot, form.server_url, sync_server.url)
    _next(qtbot, wizard)
    _settled(qtbot, wizard, "clinic_key_code")
    assert wizard.joining.enrolled and not form.server_url.isVisible()
    assert form.clinic_key_code.text() == mistyped and not ClinicDatabase.exists(folder)
    _shot(qtbot, wizard, "auth-first-run-join-key.png")
    wizard.back()  # enrolled: this computer can no longer become a new clinic instead
    assert not wizard.start_page.new.isEnabled() and wizard.start_page.join.isChecked()
    _next(qtbot, wizard)

    _type(qtbot, form.clinic_key_code, key_code)
    _next(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.secret_page, timeout=WAIT)
    assert ClinicDatabase.exists(folder) and not (folder / STAGING).exists()
    assert len(wizard.secret_page.secret.text().replace("-", "")) == 48
    wizard.secret_page.stored.setChecked(True)
    seen: list[tuple[str, int, int]] = []
    controller = wizard.sync_controller()
    controller.sync_progress.connect(lambda *p: seen.append(p))
    _next(qtbot, wizard)
    progress = wizard.sync_page.progress
    qtbot.waitUntil(lambda: progress.succeeded is not None, timeout=WAIT)
    assert progress.succeeded, progress.step.text()
    pulls = [(done, total) for phase, done, total in seen if phase == "pull"]
    assert any(0 < done < total for done, total in pulls)  # the bar showed the way
    assert progress.bar.value() == progress.bar.maximum()
    _shot(qtbot, wizard, "auth-first-run-first-sync.png")
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert finish.isEnabled()
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    assert wizard.result() == QWizard.DialogCode.Accepted and wizard.session is None
    ctx = wizard.ctx
    session = start_after_first_run(wizard)
    try:
        _sign_in_as_the_clinics_admin(qtbot, session)
        with ctx.db.sessions()() as s:
            mine = s.scalars(select(Workstation).where(Workstation.is_local)).one()
            codes = [w.series_code for w in s.scalars(select(Workstation))]
        assert mine.name == "Consulting room 2" and ctx.core.workstation_id == mine.id
        assert "AX" in codes and len(codes) == len(set(codes))  # the first one's, and unique
        assert set(holdings(first.ctx)) <= set(holdings(ctx))  # the clinic came down
    finally:  # as the application ends a session: nothing left to run on a closed store
        session.idle.stop()
        if session.main_window is not None:
            session.main_window.close()
        wait_for_idle()
        ctx.close()


def _sign_in_as_the_clinics_admin(qtbot: Any, session: Any) -> None:
    dialog = session.sign_in_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(session.signed_in, timeout=WAIT) as signed:
        dialog.username.setText("admin")
        dialog.password.setText(TEST_PASSWORD)
        dialog.code.setText(current_code(TOTP_SECRETS[Role.CLINIC_ADMIN], datetime.now(UTC)))
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert signed.args[0].username == "admin"
    qtbot.addWidget(session.main_window)


def test_a_cancelled_join_leaves_the_folder_ready_for_another_try(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "new-computer"
    wizard = FirstRunWizard(folder)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.start_page.join.setChecked(True)
    wizard.next()
    form = wizard.join_page.form
    _type(qtbot, form.server_url, f"http://127.0.0.1:{free_port()}")
    _type(qtbot, form.code, "ABCD-EFGH-JKLM-NPQR")
    _type(qtbot, form.clinic_key_code, "ABCDEF-GHIJKL-MNOPQR-STUVWX")
    _next(qtbot, wizard)
    _settled(qtbot, wizard, "server_url")
    assert (folder / STAGING).exists()  # the store waits for the retry
    wizard.reject()
    assert not (folder / STAGING).exists() and not ClinicDatabase.exists(folder)
