"""The daily backup runs by itself in the running application, off the GUI thread."""

from __future__ import annotations

from datetime import UTC, datetime

from pms_desktop.domain.enums import Role
from pms_desktop.ui.backup_scheduler import BackupScheduler


def test_due_backup_runs_once_and_reports_it(qtbot, ctx, actors, data_dir) -> None:  # type: ignore[no-untyped-def]
    ctx.backups.set_schedule(actors[Role.CLINIC_ADMIN], enabled=True, hour=0, keep=5)
    ctx.core.clock = lambda: datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    scheduler = BackupScheduler(ctx, interval_ms=50, first_after_ms=0)
    with qtbot.waitSignal(scheduler.backup_made, timeout=20000) as made:
        pass
    path = made.args[0]
    assert path.endswith(".pmsbak") and (data_dir / "backups").exists()
    qtbot.wait(400)  # several more ticks on the same day: nothing more is written
    assert len(list((data_dir / "backups").glob("clinic-scheduled-*.pmsbak"))) == 1
    scheduler.timer.stop()
    qtbot.waitUntil(lambda: not scheduler._running, timeout=20000)


def test_a_failing_backup_is_reported_not_raised(qtbot, ctx, actors, tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    ctx.backups.set_schedule(actors[Role.CLINIC_ADMIN], enabled=True, hour=0, keep=5,
                             folder=blocker / "sub")
    scheduler = BackupScheduler(ctx, interval_ms=60_000, first_after_ms=0)
    with qtbot.waitSignal(scheduler.backup_failed, timeout=20000) as failed:
        pass
    assert failed.args[0]
    scheduler.timer.stop()
