"""Backups, the daily schedule and its retention, and database key rotation (clinic admin).

The schedule lives in this workstation's local settings (``setting`` table): each workstation
backs up its own copy. ``run_scheduled_if_due`` is called by the application off the GUI thread
at start and every hour; it never raises for a missed slot, it just runs late.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..domain.enums import AuditOutcome
from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..domain.session import StaffSession
from ..store.backup import prune_backups, write_backup
from ..store.database import ClinicDatabase
from ..store.models import Setting
from .base import ServiceCore, UnitOfWork, operation, unit_of_work

SCHEDULE_KEY = "backup.schedule"
LAST_RUN_KEY = "backup.last_scheduled"


@dataclass(frozen=True)
class BackupSchedule:
    enabled: bool = True
    hour: int = 19
    keep: int = 14
    folder: str | None = None  # None: the data folder's backups/


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    created_at: datetime
    removed: tuple[Path, ...] = ()


class BackupService:
    def __init__(self, core: ServiceCore, db: ClinicDatabase) -> None:
        self.core = core
        self.db = db

    # --- settings --------------------------------------------------------------------------

    def _read_schedule(self, uow: UnitOfWork) -> BackupSchedule:
        row = uow.session.get(Setting, SCHEDULE_KEY)
        return BackupSchedule(**json.loads(row.value)) if row else BackupSchedule()

    def _folder(self, schedule: BackupSchedule) -> Path:
        return Path(schedule.folder) if schedule.folder else self.db.data_dir / "backups"

    @operation(Permission.BACKUPS, "backup.schedule.read")
    def schedule(self, uow: UnitOfWork) -> BackupSchedule:
        return self._read_schedule(uow)

    @operation(Permission.BACKUPS, "backup.last.read")
    def last_backup(self, uow: UnitOfWork) -> datetime | None:
        """When the newest backup in the schedule's folder was written (daily or made by hand),
        or None: the files themselves, so a backup made on another day or deleted counts as it
        is, not as a setting remembers it."""
        folder = self._folder(self._read_schedule(uow))
        files = folder.glob("clinic-*.pmsbak") if folder.is_dir() else ()
        times = [p.stat().st_mtime for p in files]
        return datetime.fromtimestamp(max(times), UTC) if times else None

    @operation(Permission.BACKUPS, "backup.schedule.update")
    def set_schedule(
        self, uow: UnitOfWork, *, enabled: bool, hour: int, keep: int, folder: Path | None = None
    ) -> BackupSchedule:
        errors = {}
        if not 0 <= hour <= 23:
            errors["hour"] = "Choose an hour between 0 and 23."
        if not 1 <= keep <= 365:
            errors["keep"] = "Keep between 1 and 365 backups."
        if folder is not None and not Path(folder).is_absolute():
            errors["folder"] = "Choose a full folder path."
        if errors:
            raise ValidationError(errors)
        value = BackupSchedule(enabled, hour, keep, str(folder) if folder else None)
        row = uow.session.get(Setting, SCHEDULE_KEY) or Setting(key=SCHEDULE_KEY, value="")
        row.value = json.dumps(value.__dict__)
        uow.session.add(row)
        return value

    # --- running ---------------------------------------------------------------------------

    @operation(Permission.BACKUPS, "backup.create", transactional=False)
    def backup_now(self, actor: StaffSession, *, out: Path | None = None) -> BackupResult:
        with unit_of_work(self.core, actor) as uow:
            target = out or self._folder(self._read_schedule(uow))
        # Outside any transaction: the export reads one consistent snapshot while others write.
        path = write_backup(self.db, target, label="manual")
        with unit_of_work(self.core, actor) as uow:
            uow.audit("backup.create", detail={"file": path.name, "bytes": path.stat().st_size})
        return BackupResult(path, path.stat().st_size, self.core.now())

    def run_scheduled_if_due(self) -> BackupResult | None:
        """The daily backup, when its hour has passed and none ran since; with retention."""
        now = self.core.now()
        with unit_of_work(self.core, None) as uow:
            schedule = self._read_schedule(uow)
            last_row = uow.session.get(Setting, LAST_RUN_KEY)
            last = datetime.fromisoformat(json.loads(last_row.value)) if last_row else None
        if not schedule.enabled:
            return None
        slot = now.replace(hour=schedule.hour, minute=0, second=0, microsecond=0)
        if slot > now:
            slot -= timedelta(days=1)
        if last is not None and last >= slot:
            return None
        folder = self._folder(schedule)
        path = write_backup(self.db, folder, label="scheduled")
        removed = prune_backups(folder, schedule.keep, label="scheduled")
        with unit_of_work(self.core, None) as uow:
            row = uow.session.get(Setting, LAST_RUN_KEY) or Setting(key=LAST_RUN_KEY, value="")
            row.value = json.dumps(now.isoformat())
            uow.session.add(row)
            uow.audit("backup.scheduled", detail={"file": path.name, "removed": len(removed)})
        return BackupResult(path, path.stat().st_size, now, tuple(removed))

    @operation(Permission.BACKUPS, "database.rotate_key", transactional=False)
    def rotate_key(self, actor: StaffSession) -> None:
        self.db.rotate_key()
        # The engine changed: every service shares this sessionmaker, rebind it once.
        self.core.sessions.configure(bind=self.db.engine)
        with unit_of_work(self.core, actor) as uow:
            uow.audit("database.rotate_key", outcome=AuditOutcome.SUCCESS)
