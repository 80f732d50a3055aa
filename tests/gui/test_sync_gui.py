"""Sync in the application, against the real sync server (uvicorn on 127.0.0.1).

Enrolment through the dialog, the background controller (after a change, backing off while the
server is away, back when it returns, never holding up the person's database work), the status
bar, and a conflict resolved by clicking in the conflicts window until both workstations agree.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from pms_desktop.domain.enums import Role
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.store.models import SyncConflict
from pms_desktop.sync import engine as sync_engine
from pms_desktop.sync import sync_state
from pms_desktop.sync.transport import SyncClient
from pms_desktop.ui.admin.admin_screen import AdminScreen
from pms_desktop.ui.app import start_sync_controller
from pms_desktop.ui.auth.session_controller import SessionController
from pms_desktop.ui.main_window import MainWindow
from pms_desktop.ui.ops import run_op, wait_for_idle
from pms_desktop.ui.sync.backoff import Backoff
from pms_desktop.ui.sync.conflict_panels import FieldConflictPanel, NoticePanel
from pms_desktop.ui.sync.conflicts_window import ConflictsWindow
from pms_desktop.ui.sync.sync_controller import SyncController
from pms_desktop.ui.sync.sync_status_widget import SyncStatusWidget
from pms_desktop.ui.sync.sync_tab import SyncTab
from tests.gui.sync_gui_support import ToggleProxy
from tests.sync import conftest as e2e
from tests.sync.conftest import SyncServer
from tests.sync.sync_server_helpers import holdings

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("themed")]
SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 20_000
DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork", phone="087 555 0142")

# The e2e fixtures of tests/sync (enrolled workstations of a new clinic), on this module's server
# below.
make_workstations, workstations = e2e.make_workstations, e2e.workstations


@pytest.fixture
def controllers(qtbot: Any) -> Iterator[Callable[..., SyncController]]:
    """Controllers with test timings; shut down (their sync thread idle) before the stores close."""
    made: list[SyncController] = []

    def make(ctx: Any, **options: Any) -> SyncController:
        options = {"interval_ms": 120_000, "change_delay_ms": 300, "first_after_ms": 60_000,
                   "watch_network": False, **options}
        controller = SyncController(ctx, **options)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        assert controller.shutdown(timeout_s=30)
    wait_for_idle()


def enrolled(ctx: Any, server: SyncServer, url: str | None = None) -> str:
    clinic = server.new_clinic("Riverside Family Practice")
    ctx.sync.enrol_device(server_url=url or server.url, code=server.enrol_code(clinic),
                          device_name="Front desk")
    return clinic


def server_clinic_id(ctx: Any) -> str:
    with ctx.db.sessions()() as s:
        return str(sync_state.get(s, sync_state.CLINIC_ID))


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    b = Backoff(first_ms=1_000, cap_ms=8_000)
    low = [b.delay_ms(n, rand=lambda: 0.0) for n in range(1, 8)]
    high = [b.delay_ms(n, rand=lambda: 0.999999) for n in range(1, 8)]
    assert low == [500, 1_000, 2_000, 4_000, 4_000, 4_000, 4_000]
    assert high == [999, 1_999, 3_999, 7_999, 7_999, 7_999, 7_999]
    # Jitter never makes a later wait shorter than the longest earlier one below the cap.
    assert all(h <= lo for h, lo in zip(high[:3], low[1:4], strict=True))


def test_a_workstation_joins_through_the_admin_screen_and_downloads_the_clinic(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, sync_server, make_workstations, controllers, monkeypatch) -> None:
    [first] = make_workstations(1)  # the clinic already works with the server
    for i in range(12):
        first.ctx.patients.register_patient(first.actor, draft=replace(DRAFT, given=f"Pat{i}"))
    first.sync.run_sync()
    # A clinic admin at the first workstation makes a clinic key code for the new one.
    at_first = SyncTab(first.ctx, e2e._actor(first.ctx, "admin"))
    qtbot.addWidget(at_first)
    qtbot.waitUntil(lambda: at_first.key_button.isEnabled(), timeout=WAIT)
    qtbot.mouseClick(at_first.key_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: at_first.key_box is not None, timeout=WAIT)
    key_code = at_first.key_box.informativeText().split("<b>")[1].split("</b>")[0]
    monkeypatch.setattr(sync_engine, "PULL_PAGE", 4)  # several pages from a small clinic
    admin = actors[Role.CLINIC_ADMIN]
    controller = controllers(ctx)
    seen: list[tuple[str, int, int]] = []
    controller.sync_progress.connect(lambda *p: seen.append(p))
    screen = AdminScreen(ctx, admin, SimpleNamespace(sync_controller=controller,
                                                     show_status=lambda _t: None))
    qtbot.addWidget(screen)
    screen.tabs.setCurrentWidget(screen.sync)
    screen.show()
    tab = screen.sync
    qtbot.waitUntil(lambda: tab.status is not None, timeout=WAIT)
    assert "Not enrolled" in tab.server.text()

    qtbot.mouseClick(tab.enrol_button, Qt.MouseButton.LeftButton)
    dialog = tab.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.server_url, "sync.riverside.example")
    qtbot.mouseClick(dialog.enrol_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.server_url.property("invalid") is True, timeout=WAIT)
    assert dialog.code.property("invalid") is True
    assert dialog.server_url.text() == "sync.riverside.example"  # kept as typed
    assert "https://" in dialog.errors["server_url"].text()

    dialog.server_url.clear()
    qtbot.keyClicks(dialog.server_url, sync_server.url)
    qtbot.keyClicks(dialog.code, "ABCD-EFGH-JKLM-NPQR")
    qtbot.mouseClick(dialog.enrol_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.enrol_button.isEnabled()
                    and dialog.code.property("invalid") is True, timeout=WAIT)
    assert not dialog.server_url.property("invalid")
    assert "did not accept this code" in dialog.errors["code"].text()
    assert dialog.code.text() == "ABCD-EFGH-JKLM-NPQR"

    dialog.code.setText(sync_server.enrol_code(server_clinic_id(first.ctx)))
    qtbot.keyClicks(dialog.device_name, "Consulting room 2")
    mistyped = key_code[:-1] + ("A" if key_code[-1] != "A" else "B")
    qtbot.keyClicks(dialog.clinic_key_code, mistyped)
    qtbot.mouseClick(dialog.enrol_button, Qt.MouseButton.LeftButton)
    # Enrolled, but the key code did not open the key: only that field is left to correct.
    qtbot.waitUntil(lambda: dialog.clinic_key_code.property("invalid") is True, timeout=WAIT)
    assert dialog.enrolled and not dialog.server_url.isVisible()
    assert dialog.clinic_key_code.text() == mistyped and controller.syncs == 0
    dialog.clinic_key_code.setText(key_code)
    qtbot.mouseClick(dialog.enrol_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 1, timeout=WAIT)
    assert "Enrolled" in dialog.done_title.text()
    qtbot.waitUntil(lambda: controller.syncs == 1, timeout=WAIT)
    pulls = [(done, total) for phase, done, total in seen if phase == "pull"]
    assert len(pulls) >= 3 and pulls[-1][0] == pulls[-1][1] > 0  # ends at its total
    assert any(0 < done < total for done, total in pulls)  # and showed the way there
    assert all(total == pulls[-1][1] for _, total in pulls)  # the total was known from page 1
    assert dialog.bar.value() == dialog.bar.maximum() and "Done" in dialog.close_button.text()
    credential = KeyStore().get(f"device:{KeyInfo.load(ctx.data_dir).database_id}")
    assert credential is not None and credential.startswith(b"pmsd_")
    qtbot.waitUntil(lambda: tab.status is not None and tab.status.enrolled, timeout=WAIT)
    assert sync_server.url in tab.server.text()
    assert set(holdings(first.ctx)) <= set(holdings(ctx))  # the clinic came down


def test_a_signed_in_window_shows_the_background_sync(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    session = SessionController(ctx, clinic_name="Riverside")
    sync = start_sync_controller(ctx, session)
    try:
        session.start_session(actors[Role.RECEPTION])
        qtbot.waitUntil(lambda: session.main_window is not None
                        and session.main_window.sync_status is not None, timeout=WAIT)
        window = session.main_window
        qtbot.addWidget(window)
        bar = window.sync_status
        qtbot.waitUntil(lambda: "not set up" in bar.state.text(), timeout=WAIT)
        assert not bar.sync_button.isEnabled() and window.sync_controller is sync
        window.set_locked(True)
        assert not bar.isEnabled()
    finally:
        assert sync.shutdown(timeout_s=30)
        session.idle.stop()


def test_a_change_that_could_not_be_sent_shows_in_the_conflicts_window_with_why(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    """As the sync engine leaves a change whose body could not be built (its mapper failed):
    listed as "Could not be sent", the reason shown, dismissed with one click."""
    pid = make_patient(given="Aoife", family="Byrne")
    reason = ("This version of the application could not put the record into the form the "
              "sync server takes (KeyError).")
    with ctx.db.sessions()() as s, s.begin():
        s.add(SyncConflict(kind="unsendable", resource_type="Patient", resource_id=pid,
                           detail=reason, created_at=datetime.now(UTC)))
    window = ConflictsWindow(ctx, actors[Role.RECEPTION])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.loaded and isinstance(window.panel, NoticePanel),
                    timeout=WAIT)
    row = [window.model.index(0, c).data() for c in range(window.model.columnCount())]
    assert "Patient · Aoife Byrne" in row and "Could not be sent" in row
    shown = window.panel.findChild(QLabel, "refusalReason")
    assert shown is not None and shown.text() == reason
    qtbot.mouseClick(window.panel.dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    assert ctx.sync.device_status().quarantined == 0


def test_status_bar_follows_changes_and_the_controller_backs_off_while_the_server_is_away(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, sync_server, controllers) -> None:
    rita = actors[Role.RECEPTION]
    proxy = ToggleProxy(sync_server.port)
    proxy.up()
    try:
        enrolled(ctx, sync_server, proxy.url)
        controller = controllers(ctx, first_after_ms=0, change_delay_ms=300,
                                 backoff=Backoff(first_ms=400, cap_ms=1_600))
        starts: list[str] = []
        controller.sync_started.connect(starts.append)
        widget = SyncStatusWidget(controller, ctx, rita)
        qtbot.addWidget(widget)
        widget.show()
        controller.start()
        qtbot.waitUntil(lambda: controller.syncs == 1 and "Synced" in widget.state.text(),
                        timeout=WAIT)

        # A local change is sent shortly after, without waiting for the periodic sync.
        ctx.patients.register_patient(rita, draft=DRAFT)
        qtbot.waitUntil(lambda: controller.syncs == 2, timeout=WAIT)
        assert starts[-1] == "change"
        qtbot.waitUntil(lambda: not widget.pending.isVisible(), timeout=WAIT)

        # The server goes away: the change waits, the bar says so, retries back off.
        proxy.down()
        ctx.patients.register_patient(rita, draft=replace(DRAFT, given="Liam", family="Walsh"))
        qtbot.waitUntil(lambda: "1 to send" in widget.pending.text(), timeout=WAIT)
        delays: list[int] = []
        controller.sync_failed.connect(lambda *_: delays.append(controller.next_delay_ms))
        qtbot.waitUntil(lambda: len(delays) >= 3, timeout=WAIT)
        assert controller.offline and "Offline" in widget.state.text()
        assert delays == sorted(delays) and delays[-1] <= 1_600 and delays[0] < delays[-1]
        assert set(starts[2:]) == {"change", "retry"} and starts.count("change") <= 2
        assert widget.sync_button.isEnabled()

        # Back: the next retry gets through, the change is sent, the bar is green again.
        proxy.up()
        qtbot.waitUntil(lambda: controller.syncs == 3, timeout=WAIT)
        qtbot.waitUntil(lambda: "Synced" in widget.state.text()
                        and not widget.pending.isVisible(), timeout=WAIT)
        assert controller.failures == 0 and not controller.offline
    finally:
        proxy.down()


def test_a_sync_waiting_on_the_server_does_not_hold_up_the_persons_database_work(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, sync_server, controllers, monkeypatch) -> None:
    rita = actors[Role.RECEPTION]
    enrolled(ctx, sync_server)
    waiting, release = threading.Event(), threading.Event()
    pull = SyncClient.pull

    def slow_pull(self: SyncClient, cursor: int, limit: int) -> Any:
        waiting.set()
        release.wait(timeout=20)  # the network is slow
        return pull(self, cursor, limit)

    monkeypatch.setattr(SyncClient, "pull", slow_pull)
    controller = controllers(ctx)
    assert controller.sync("timer")
    assert not controller.sync("timer")  # one at a time
    qtbot.waitUntil(waiting.is_set, timeout=WAIT)
    saved: list[Any] = []
    run_op(None, lambda: ctx.patients.register_patient(rita, draft=DRAFT), saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT)  # while the sync still waits
    assert controller.running
    release.set()
    qtbot.waitUntil(lambda: controller.syncs >= 1 and not controller.running, timeout=WAIT)
    assert controller.last_error is None


def test_the_same_field_edited_on_both_sides_is_resolved_in_the_conflicts_window(  # type: ignore[no-untyped-def]
        qtbot, workstations, controllers) -> None:
    a, b = workstations()
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    a.sync.run_sync()
    b.sync.run_sync()
    a.ctx.patients.update_patient(a.actor, patient_id=pid, draft=replace(DRAFT, city="Galway"))
    b.ctx.patients.update_patient(b.actor, patient_id=pid, draft=replace(DRAFT, city="Sligo"))
    a.sync.run_sync()

    controller = controllers(b.ctx, first_after_ms=0)
    window = MainWindow(b.ctx, b.actor)
    qtbot.addWidget(window)
    window.set_sync_controller(controller)
    window.open_patient(pid)
    window.show()
    bar = window.sync_status
    controller.start()
    qtbot.waitUntil(lambda: controller.syncs == 1 and bar.attention.isVisible(), timeout=WAIT)
    assert "1 conflict" in bar.attention.text()

    qtbot.mouseClick(bar.attention, Qt.MouseButton.LeftButton)
    conflicts = bar.conflicts_window
    qtbot.waitUntil(lambda: conflicts.loaded and isinstance(conflicts.panel, FieldConflictPanel),
                    timeout=WAIT)
    assert conflicts.model.rowCount() == 1
    panel = conflicts.panel
    [(mine, theirs)] = panel.cells.values()
    assert "Sligo" in mine.text.text() and "Galway" in theirs.text.text()  # side by side
    assert not panel.apply_button.isEnabled()  # a person must choose
    qtbot.mouseClick(theirs.text, Qt.MouseButton.LeftButton)  # on the value's words
    assert theirs.radio.isChecked() and panel.apply_button.isEnabled()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: conflicts.model.rowCount() == 0 and "All resolved"
                    in conflicts.summary.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: "Galway" in window.patient_file.cards["address"].text(), timeout=WAIT)
    # The choice is sent like any edit: shortly after, by the background sync.
    qtbot.waitUntil(lambda: controller.syncs >= 2 and not controller.running
                    and not bar.attention.isVisible() and not bar.pending.isVisible(),
                    timeout=WAIT)
    a.sync.run_sync()
    held_a, held_b = holdings(a.ctx), holdings(b.ctx)
    assert held_a[pid]["city"] == held_b[pid]["city"] == "Galway"
    assert held_a == held_b


@pytest.mark.skipif(not os.environ.get("PMS_SCREENSHOTS"), reason="set PMS_SCREENSHOTS=1")
def test_screenshots(qtbot, workstations, controllers) -> None:  # type: ignore[no-untyped-def]
    """docs/screenshots/sync-*.png: the status bar, the conflicts window, the enrolment dialog."""
    from tests.gui.sync_gui_screens import shoot_all

    SHOTS.mkdir(parents=True, exist_ok=True)
    shoot_all(qtbot, workstations, controllers, SHOTS)
