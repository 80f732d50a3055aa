"""The conflicts window's panel for a possible duplicate: one MRN registered twice offline.

Both patients, one card above the other (this workstation's, and the other workstation's, held
here under a temporary MRN until a person decides): side by side, two long names in the
buttons made the panel wider than the window, and its right side was cut off. "Same person — merge…" opens the merge of the two
records; "Two people — give … a new MRN" opens that patient's details at the MRN. The panel
only asks (``acted``: action, patient id); the window opens the dialogs. The conflict closes
itself at the next sync once the clash is gone, on every workstation.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QPushButton, QVBoxLayout

from .conflict_panels import ConflictPanel, _label
from .conflict_table_model import ConflictGroup

KIND = "possible-duplicate"


class PossibleDuplicatePanel(ConflictPanel):
    acted = Signal(str, str)  # "merge" | "renumber", patient id

    def __init__(self, group: ConflictGroup, zone: str | None) -> None:
        c = group.conflicts[0]
        self.local = c.local_value if isinstance(c.local_value, dict) else {}
        self.remote = c.remote_value if isinstance(c.remote_value, dict) else {}
        self.mrn = str(self.remote.get("mrn") or self.local.get("mrn") or "")
        super().__init__(group, zone, self.tr("Possible duplicate · MRN %s") % self.mrn)
        self.intro(self.tr(
            "Two patients were registered with the same MRN on different workstations. Both "
            "are kept; until a person decides, the one from the other workstation has a "
            "temporary MRN here (ending in “~dup-…”). If they are the same person, merge the "
            "two records; if they are two people, give one of them a new MRN."))
        cards = QVBoxLayout()
        self.renumber_buttons: dict[str, QPushButton] = {}
        for side, value, title in (("local", self.local, self.tr("Registered here")),
                                   ("remote", self.remote,
                                    self.tr("Registered on another workstation"))):
            cards.addWidget(self._card(side, value, title))
        self.layout_.addLayout(cards)
        self.merge_button = QPushButton(self.tr("Same person — merge…"))
        self.merge_button.setObjectName("mergeDuplicate")
        self.merge_button.clicked.connect(self._merge)
        self.finish(primary=self.merge_button)

    def _card(self, side: str, p: dict[str, Any], title: str) -> QFrame:
        frame = QFrame()
        frame.setObjectName("card")
        box = QVBoxLayout(frame)
        box.addWidget(_label(title, "muted"))
        name = _label(str(p.get("name") or self.tr("Patient record")))
        name.setStyleSheet("font-size: 12pt; font-weight: 600;")
        box.addWidget(name)
        born = str(p.get("birth_date") or "")
        if born:
            box.addWidget(_label(self.tr("Born %s") % "/".join(reversed(born.split("-"))),
                                 "muted"))
        box.addWidget(_label(self.tr("MRN %s") % (p.get("mrn") or ""), "muted"))
        button = QPushButton(self.tr("Two people — give %s a new MRN…")
                             % str(p.get("name") or self.tr("this patient")))
        button.setObjectName(f"renumber-{side}")
        button.setProperty("patient_id", str(p.get("patient_id") or ""))
        button.clicked.connect(self._renumber)
        button.setDisabled(not p.get("patient_id"))
        self.renumber_buttons[side] = button
        box.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        return frame

    def _merge(self) -> None:
        self.acted.emit("merge", str(self.local.get("patient_id") or ""))

    def _renumber(self) -> None:
        sender = self.sender()
        if sender is not None:
            self.acted.emit("renumber", str(sender.property("patient_id")))


def duplicate_panel_for(group: ConflictGroup, zone: str | None) -> ConflictPanel | None:
    return PossibleDuplicatePanel(group, zone) if group.kind == KIND else None
