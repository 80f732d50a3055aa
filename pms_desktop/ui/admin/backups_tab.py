"""Backup settings (daily schedule, retention, folder) and "Back up now"."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ..ops import run_op
from ..widgets.button_row import button_row
from ..widgets.dates import day_time_text


class BackupsTab(QWidget):
    def __init__(self, ctx: Any, session: StaffSession, status: Any, timezone: str) -> None:
        super().__init__()
        self.ctx, self.session, self.status = ctx, session, status
        self.zone = ZoneInfo(timezone)  # the clinic's: the last backup's time is written in it
        self.enabled = QCheckBox(self.tr("Back up every day"))
        self.hour = QSpinBox(minimum=0, maximum=23, suffix=":00")
        self.keep = QSpinBox(minimum=1, maximum=365, suffix=self.tr(" backups"))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(self.tr("The data folder's backups/"))
        browse = QPushButton(self.tr("Choose…"))
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder)
        folder_row.addWidget(browse)
        save = QPushButton(self.tr("Save schedule"))
        save.clicked.connect(self.save)
        self.now_button = QPushButton(self.tr("Back up now"))
        self.now_button.setProperty("primary", True)
        self.now_button.clicked.connect(self.backup_now)
        self.last = QLabel()
        self.last.setObjectName("muted")
        self.folder.setMinimumWidth(360)
        schedule = QGroupBox(self.tr("Daily backup"))
        form = QFormLayout(schedule)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("", self.enabled)
        form.addRow(self.tr("At"), self.hour)
        form.addRow(self.tr("Keep"), self.keep)
        form.addRow(self.tr("Folder"), folder_row)
        form.addRow("", button_row(save))
        now = QGroupBox(self.tr("Back up now"))
        nv = QVBoxLayout(now)
        nv.addWidget(button_row(self.now_button))
        nv.addWidget(self.last)
        layout = QVBoxLayout(self)
        layout.addWidget(schedule)
        layout.addWidget(now)
        layout.addStretch(1)
        available = "backups" in getattr(ctx, "services", {})
        for w in (self.enabled, self.hour, self.keep, self.folder, save, self.now_button):
            w.setEnabled(available)
        if available:
            backups, who = ctx.backups, session
            run_op(self, lambda: backups.schedule(who), self._loaded)
            self._load_last()

    def _load_last(self) -> None:
        backups, who = self.ctx.backups, self.session

        def shown(when: Any) -> None:
            if when is None:
                self.last.setText(self.tr("No backup in this folder yet."))
                return
            local = day_time_text(when.astimezone(self.zone))
            self.last.setText(self.tr("Last backup: {when}").format(when=local))

        run_op(self, lambda: backups.last_backup(who), shown, lambda _e: None)

    def _loaded(self, schedule: Any) -> None:
        self.enabled.setChecked(schedule.enabled)
        self.hour.setValue(schedule.hour)
        self.keep.setValue(schedule.keep)
        self.folder.setText(schedule.folder or "")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Backup folder"))
        if folder:
            self.folder.setText(folder)

    def save(self) -> None:
        backups, who = self.ctx.backups, self.session
        values = dict(enabled=self.enabled.isChecked(), hour=self.hour.value(),
                      keep=self.keep.value(),
                      folder=Path(self.folder.text()) if self.folder.text().strip() else None)
        run_op(self, lambda: backups.set_schedule(who, **values),
               lambda _s: self._status(self.tr("Backup schedule saved.")))

    def backup_now(self) -> None:
        backups, who = self.ctx.backups, self.session
        self.now_button.setEnabled(False)

        def done(result: Any) -> None:
            self.now_button.setEnabled(True)
            self._load_last()
            self._status(self.tr("Backup written."))

        def failed(error: BaseException) -> None:
            self.now_button.setEnabled(True)
            from ..errors import show_error
            show_error(self, error)

        run_op(self, lambda: backups.backup_now(who), done, failed, label=self.tr("Backing up…"))

    def _status(self, text: str) -> None:
        if self.status is not None:
            self.status(text)
