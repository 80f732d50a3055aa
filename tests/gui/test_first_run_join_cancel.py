"""Cancelling the first-run "Join" once this computer is enrolled, against the real sync server:
the wizard gives the device credential back before it closes (the server refuses it afterwards
and lists the device revoked); offline, it says which device the central admin should revoke."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard

from pms_desktop.services.workstation_join import STAGING
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.sync import sync_state
from pms_desktop.ui.auth.first_run_wizard import FirstRunWizard
from sync_server.cli import main as server_cli
from tests.gui.sync_gui_support import free_port
from tests.sync import conftest as e2e
from tests.sync.conftest import SyncServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("themed")]
WAIT = 30_000

make_workstations = e2e.make_workstations


def _enrolled_wizard(qtbot: Any, folder: Path, server: SyncServer, make_workstations: Any
                     ) -> tuple[FirstRunWizard, str, str, str]:
    """The wizard enrolled at the server, stopped at a mistyped clinic key code: (wizard,
    clinic id, device id, device credential)."""
    [first] = make_workstations(1)
    key_code = first.sync.issue_clinic_key_code(e2e._actor(first.ctx, "admin"))
    with first.ctx.db.sessions()() as s:
        clinic_id = str(sync_state.get(s, sync_state.CLINIC_ID))
    wizard = FirstRunWizard(folder)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.mouseClick(wizard.start_page.join_card, Qt.MouseButton.LeftButton)
    wizard.next()
    form = wizard.join_page.form
    for edit, text in ((form.server_url, server.url), (form.code, server.enrol_code(clinic_id)),
                       (form.device_name, "Consulting room 3"),
                       (form.clinic_key_code,
                        key_code[:-1] + ("A" if key_code[-1] != "A" else "B"))):
        edit.clear()
        qtbot.keyClicks(edit, text)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not wizard.busy and form.clinic_key_code.property("invalid") is True,
                    timeout=WAIT)
    assert wizard.joining.holds_enrolment and wizard.joining.db is not None
    with wizard.joining.db.sessions()() as s:
        device_id = str(sync_state.get(s, sync_state.DEVICE_ID))
    token = KeyStore().get(f"device:{KeyInfo.load(folder / STAGING).database_id}")
    assert token is not None
    return wizard, clinic_id, device_id, token.decode()


def _pull(server: SyncServer, token: str) -> int:
    return httpx.get(f"{server.url}/sync/pull", headers={"Authorization": f"Bearer {token}"},
                     timeout=10).status_code


def _state(server: SyncServer, clinic_id: str, device_id: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert server_cli(["admin", "device-list", "--data-dir", str(server.data),
                           "--clinic", clinic_id]) == 0
    return {line.split("\t")[0]: line.split("\t")[3]
            for line in out.getvalue().splitlines()}[device_id]


def _cancel(qtbot: Any, wizard: FirstRunWizard) -> None:
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)


def test_cancel_after_enrolment_withdraws_the_device(  # type: ignore[no-untyped-def]
        qtbot, tmp_path, sync_server, make_workstations) -> None:
    folder = tmp_path / "new-computer"
    wizard, clinic_id, device_id, token = _enrolled_wizard(qtbot, folder, sync_server,
                                                           make_workstations)
    assert _pull(sync_server, token) == 200
    _cancel(qtbot, wizard)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT)
    assert wizard.result() == QWizard.DialogCode.Rejected and wizard.withdraw_notice is None
    assert _pull(sync_server, token) == 401
    assert _state(sync_server, clinic_id, device_id).startswith("revoked")
    assert not (folder / STAGING).exists() and not ClinicDatabase.exists(folder)


def test_cancel_offline_says_which_device_to_revoke(  # type: ignore[no-untyped-def]
        qtbot, tmp_path, sync_server, make_workstations) -> None:
    folder = tmp_path / "new-computer"
    wizard, clinic_id, device_id, token = _enrolled_wizard(qtbot, folder, sync_server,
                                                           make_workstations)
    assert wizard.joining.db is not None
    with wizard.joining.db.sessions()() as s, s.begin():  # the network is gone from here on
        sync_state.put(s, sync_state.SERVER_URL, f"http://127.0.0.1:{free_port()}")
    _cancel(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.withdraw_notice is not None
                    and wizard.withdraw_notice.isVisible(), timeout=WAIT)
    notice = wizard.withdraw_notice
    assert notice is not None and wizard.isVisible()  # open until the person has read it
    assert device_id in notice.text() and "central admin to revoke" in notice.text()
    assert "Consulting room 3" in notice.text()
    assert not (folder / STAGING).exists()  # nothing is kept on this computer all the same
    qtbot.mouseClick(notice.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT)
    assert wizard.result() == QWizard.DialogCode.Rejected
    assert _state(sync_server, clinic_id, device_id) == "active"  # the admin's to revoke
    assert _pull(sync_server, token) == 200
