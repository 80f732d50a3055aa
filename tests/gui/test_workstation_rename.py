"""A clinic admin renames this workstation under Administration › Sync: a bad name is marked on
the field with what was typed kept; a good one shows at once on the Sync screen, in the status
bar and in the access log's Workstation column, and after the next sync (the real server on
127.0.0.1) in the central admin's device list."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from pms_desktop.domain.enums import Role
from pms_desktop.ui.admin.admin_screen import AdminScreen
from pms_desktop.ui.ops import wait_for_idle
from pms_desktop.ui.sync.sync_controller import SyncController
from pms_desktop.ui.sync.sync_status_widget import SyncStatusWidget
from pms_desktop.ui.sync.sync_tab import SyncTab
from pms_desktop.ui.sync.workstation_name_dialog import WorkstationNameDialog
from sync_server.cli import main as server_admin
from tests.sync.conftest import SyncServer

pytestmark = pytest.mark.usefixtures("themed")

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 20_000


@pytest.fixture
def controllers(qtbot: Any) -> Iterator[Callable[..., SyncController]]:
    made: list[SyncController] = []

    def make(ctx: Any) -> SyncController:
        controller = SyncController(ctx, interval_ms=120_000, change_delay_ms=60_000,
                                    first_after_ms=60_000, watch_network=False)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        assert controller.shutdown(timeout_s=30)
    wait_for_idle()


def _device_list(server: SyncServer, clinic: str, capsys: Any) -> str:
    """What the central admin sees: ``pms-sync-server admin device-list``."""
    capsys.readouterr()
    assert server_admin(["admin", "device-list", "--data-dir", str(server.data),
                         "--clinic", clinic]) == 0
    return str(capsys.readouterr().out)


def _rename(qtbot: Any, tab: SyncTab, name: str) -> WorkstationNameDialog:
    qtbot.mouseClick(tab.rename_button, Qt.MouseButton.LeftButton)
    dialog = tab.name_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.name.setText(name)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    return dialog


def _refused(qtbot: Any, dialog: WorkstationNameDialog, typed: str, words: str) -> None:
    qtbot.waitUntil(lambda: words in dialog.error.text(), timeout=WAIT)
    assert dialog.isVisible() and dialog.name.property("invalid") is True
    assert dialog.name.text() == typed  # what was typed is kept
    assert dialog.save_button.isEnabled()


def test_rename_marks_bad_names_and_shows_the_new_one_everywhere(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors) -> None:
    admin = actors[Role.CLINIC_ADMIN]
    old = ctx.workstation.current().name
    screen = AdminScreen(ctx, admin)
    qtbot.addWidget(screen)
    screen.resize(1000, 560)
    screen.show()
    tab = screen.sync
    screen.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.name.text() == old, timeout=WAIT)
    assert tab.rename_button.isVisible()

    dialog = _rename(qtbot, tab, "   ")
    _refused(qtbot, dialog, "   ", "Give this workstation a name")
    dialog.name.setText("Reception " + "1" * 100)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    _refused(qtbot, dialog, "Reception " + "1" * 100, "At most 100 characters")
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "sync-rename-refused.png"))
    assert ctx.workstation.current().name == old  # nothing changed

    dialog.name.selectAll()
    qtbot.keyClicks(dialog.name, "Reception 1")  # typing clears the mark
    assert dialog.name.property("invalid") is False and dialog.error.text() == ""
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)
    qtbot.waitUntil(lambda: tab.name.text() == "Reception 1", timeout=WAIT)
    screen.grab().save(str(SHOTS / "sync-workstation-name.png"))
    assert ctx.workstation.current().name == "Reception 1"

    # The access log names the workstation (the rename itself is in it).
    audit = screen.audit
    screen.tabs.setCurrentWidget(audit)
    audit.search()
    qtbot.waitUntil(lambda: not audit.model.loading and any(
        e.action == "workstation.rename" for e in audit.model.rows), timeout=WAIT)
    column = audit.model.HEADERS.index("Workstation")
    row = next(i for i, e in enumerate(audit.model.rows) if e.action == "workstation.rename")
    assert audit.model.data(audit.model.index(row, column)) == "Reception 1"
    assert {audit.model.data(audit.model.index(i, column))
            for i in range(audit.model.rowCount())} == {"Reception 1"}


def test_other_roles_see_no_rename(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    tab = SyncTab(ctx, actors[Role.PRACTICE_MANAGER])
    qtbot.addWidget(tab)
    tab.show()
    assert not tab.rename_button.isVisible()


@pytest.mark.e2e
def test_the_server_device_list_shows_the_name_after_a_sync(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, sync_server, controllers, capsys) -> None:
    admin = actors[Role.CLINIC_ADMIN]
    clinic = sync_server.new_clinic("Rename clinic")
    ctx.sync.enrol_device(server_url=sync_server.url, code=sync_server.enrol_code(clinic),
                          device_name="Front desk")
    controller = controllers(ctx)
    bar = SyncStatusWidget(controller, ctx, admin)
    qtbot.addWidget(bar)
    bar.show()
    tab = SyncTab(ctx, admin, main_window=type("Main", (), {"sync_controller": controller})())
    qtbot.addWidget(tab)
    tab.resize(900, 420)
    tab.show()
    # The name it was enrolled with, here too.
    qtbot.waitUntil(lambda: "Enrolled as device" in tab.device.text()
                    and tab.name.text() == "Front desk", timeout=WAIT)

    dialog = _rename(qtbot, tab, "Room 3")
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)
    qtbot.waitUntil(lambda: tab.name.text() == "Room 3" and "next sync" in tab.device.text(),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: bar.workstation.text().startswith("Room 3"), timeout=WAIT)
    assert bar.workstation.isVisible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.grab().save(str(SHOTS / "sync-workstation-renamed.png"))
    bar.grab().save(str(SHOTS / "sync-status-workstation.png"))

    def device_list() -> str:
        return _device_list(sync_server, clinic, capsys)

    assert "\tFront desk\t" in device_list()  # not sent yet
    syncs = controller.syncs
    qtbot.mouseClick(tab.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.syncs > syncs, timeout=WAIT)
    listed = device_list()
    assert "\tRoom 3\t" in listed and "Front desk" not in listed
    qtbot.waitUntil(lambda: "next sync" not in tab.device.text(), timeout=WAIT)


@pytest.mark.e2e
def test_an_enrolment_that_names_nothing_uses_the_workstations_name(  # type: ignore[no-untyped-def]
        ctx, actors, sync_server, capsys) -> None:
    ctx.workstation.rename_workstation(actors[Role.CLINIC_ADMIN], name="Room 7")
    clinic = sync_server.new_clinic("Unnamed enrolment clinic")
    ctx.sync.enrol_device(server_url=sync_server.url, code=sync_server.enrol_code(clinic))
    assert "\tRoom 7\t" in _device_list(sync_server, clinic, capsys)
    assert ctx.workstation.current().on_server  # nothing left to send
