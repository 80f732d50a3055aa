"""A workstation's first sync, which downloads the clinic: what it does now, and how far it is.

Follows a ``SyncController`` (its sync thread does the work) once ``start`` is called; the bar
is busy until the first pulled page tells the total (``latest_seq``), then counts. Shared by the
enrolment dialog and the first-run wizard's "Join" path.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget


class FirstSyncProgress(QWidget):
    settled = Signal(bool)  # True: the clinic is here; False: stopped (the text says why)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.active = False
        self.succeeded: bool | None = None
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self.step = QLabel()
        self.step.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("firstSyncProgress")
        self.bar.setAccessibleName(self.tr("Download of the clinic's records"))
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setObjectName("muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        for widget in (self.title, self.step, self.bar, self.detail):
            layout.addWidget(widget)

    def follow(self, controller: Any) -> None:
        controller.sync_progress.connect(self.progressed)
        controller.sync_finished.connect(self.synced)
        controller.sync_failed.connect(self.failed)

    def start(self, text: str | None = None) -> None:
        self.active, self.succeeded = True, None
        self.bar.setRange(0, 0)  # busy until the first page tells the total
        self.step.setText(text or self.tr("Downloading the clinic's records…"))

    def progressed(self, phase: str, done: int, total: int) -> None:
        if not self.active:
            return
        if phase == "push":
            self.step.setText(self.tr("Sending this workstation's changes…"))
        elif phase == "pull" and total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.step.setText(self.tr("Downloading the clinic's records… %d%%")
                              % (100 * done // total))

    def synced(self, result: Any) -> None:
        if not self.active:
            return
        self.active, self.succeeded = False, True
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.step.setText(self.tr("Done: %d records downloaded, %d sent.")
                          % (result.pulled, result.pushed))
        self.settled.emit(True)

    def failed(self, message: str, _offline: bool = False) -> None:
        if not self.active:
            return
        self.active, self.succeeded = False, False
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.step.setText(self.tr("The first sync did not finish: %s") % message)
        self.settled.emit(False)
