"""WorkstationNameDialog: a clinic admin gives this workstation a clear name ("Reception 1").

The name shows in the status bar, on the Sync screen, in the access log and, after the next
sync, in the central admin's device list. A refused name marks the field and keeps what was
typed; the save runs off the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ...domain.errors import ValidationError
from ...domain.session import StaffSession
from ..errors import mark_invalid
from ..save_dialog import SaveDialog


class WorkstationNameDialog(SaveDialog):
    def __init__(self, ctx: Any, session: StaffSession, current: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.setObjectName("workstationNameDialog")
        self.setWindowTitle(self.tr("Rename this workstation"))
        self.setMinimumWidth(420)
        intro = QLabel(self.tr(
            "A name people recognise, such as “Reception 1” or “Room 3”. It shows in the status "
            "bar and the access log here, and to the central admin after the next sync."))
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.name = QLineEdit(current or "")
        self.name.setObjectName("workstationName")
        self.name.setPlaceholderText(self.tr("e.g. Reception 1"))
        self.name.setAccessibleName(self.tr("Workstation name"))
        self.name.selectAll()
        self.name.textEdited.connect(self._edited)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow(self.tr("&Name"), self.name)
        form.addRow("", self.error)
        self.add_buttons(form)

    def _edited(self, _text: str) -> None:
        mark_invalid(self.name, False)
        self.error.setText("")

    def save(self) -> None:
        names, who, name = self.ctx.workstation, self.session, self.name.text()
        self.submit(lambda: names.rename_workstation(who, name=name))

    def error_fields(self) -> dict[str, QWidget]:
        return {"name": self.name}

    def errors_shown(self, error: ValidationError) -> None:
        self.name.setFocus()
