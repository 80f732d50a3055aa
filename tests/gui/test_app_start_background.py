"""The start leaves the scheduled backup and the background sync until the sign-in window is
painted (``ui/app.Background``): the window comes first, then both run as before."""

from __future__ import annotations

import pytest

from pms_desktop.domain.enums import Role
from pms_desktop.ui import app as app_module
from pms_desktop.ui.app import Background, start_controller
from pms_desktop.ui.backup_scheduler import BackupScheduler

pytestmark = pytest.mark.usefixtures("themed")
WAIT = 20_000


@pytest.fixture(autouse=True)
def _no_scheduled_backup(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A scheduler made here asks for its first backup a minute later, in some later test's
    window (its own timer is stopped, that one-shot is not): its tick does nothing here."""
    monkeypatch.setattr(BackupScheduler, "tick", lambda self: None)


def _started_after_paint(qtbot, ctx):  # type: ignore[no-untyped-def]
    """The start's controller, its sign-in window, and the background work set to start once
    that window is painted."""
    controller = start_controller(ctx)
    dialog = controller.show_sign_in()
    qtbot.addWidget(dialog)
    background = Background(ctx, controller)
    background.start_after_paint(dialog)
    return controller, dialog, background


def test_sync_and_backup_start_once_the_sign_in_window_is_painted(qtbot, ctx) -> None:  # type: ignore[no-untyped-def]
    controller, dialog, background = _started_after_paint(qtbot, ctx)
    try:
        assert background.sync is None and background.scheduler is None  # not before the paint
        qtbot.waitUntil(lambda: background.sync is not None, timeout=WAIT)
        assert dialog.isVisible()
        assert background.scheduler is not None and background.scheduler.timer.isActive()
        assert background.sync.next_at is not None  # its first sync is planned
    finally:
        background.stop()
        controller.idle.stop()


def test_a_window_signed_in_before_the_sync_started_gets_it(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    controller = start_controller(ctx)
    controller.start_session(actors[Role.RECEPTION])
    qtbot.waitUntil(lambda: controller.main_window is not None, timeout=WAIT)
    qtbot.addWidget(controller.main_window)
    background = Background(ctx, controller)
    try:
        background.start_now()
        assert controller.main_window.sync_controller is background.sync is not None
    finally:
        background.stop()
        controller.idle.stop()


def test_a_failed_import_ahead_still_starts_both(qtbot, ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app_module, "WARM_UP_MODULES", ("pms_desktop.no_such_module",))
    controller, dialog, background = _started_after_paint(qtbot, ctx)
    try:
        qtbot.waitUntil(lambda: background.sync is not None, timeout=WAIT)
        assert background.scheduler is not None
    finally:
        background.stop()
        controller.idle.stop()
