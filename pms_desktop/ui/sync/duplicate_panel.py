"""The conflicts window's panel for a possible duplicate: one identifier (an MRN, a PPSN ...)
registered for two patients on two offline workstations.

Both patients, one card above the other (this workstation's, and the other workstation's, held
here under a temporary value until a person decides): side by side, two long names in the
buttons made the panel wider than the window, and its right side was cut off. "Same person —
merge…" opens the merge of the two records. "Two people" differs by identifier: an MRN is the
clinic's own number, so either patient may be given a new one ("give … a new MRN"); a PPSN is
the person's real number, so the person corrects it on the patient it is wrong for ("correct
… PPSN"). The panel only asks (``acted``: action, patient id); the window opens the dialogs.
The conflict closes itself at the next sync once the clash is gone, on every workstation.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QPushButton, QVBoxLayout

from .conflict_panels import ConflictPanel, _label
from .conflict_table_model import ConflictGroup

KIND = "possible-duplicate"
MRN_SYSTEM = "urn:clinic:mrn"


class PossibleDuplicatePanel(ConflictPanel):
    acted = Signal(str, str)  # "merge" | "renumber" | "correct", patient id

    def __init__(self, group: ConflictGroup, zone: str | None) -> None:
        c = group.conflicts[0]
        self.local = c.local_value if isinstance(c.local_value, dict) else {}
        self.remote = c.remote_value if isinstance(c.remote_value, dict) else {}
        shared = self.remote or self.local
        self.system = str(shared.get("system") or MRN_SYSTEM)
        self.is_mrn = self.system == MRN_SYSTEM
        self.label = str(shared.get("label") or "MRN")
        self.value = str(shared.get("value") or shared.get("mrn") or "")
        super().__init__(group, zone, self.tr("Possible duplicate · %s %s")
                         % (self.label, self.value))
        if self.is_mrn:
            self.intro(self.tr(
                "Two patients were registered with the same MRN on different workstations. "
                "Both are kept; until a person decides, the one from the other workstation has "
                "a temporary MRN here (ending in “~dup-…”). If they are the same person, merge "
                "the two records; if they are two people, give one of them a new MRN."))
        else:
            self.intro(self.tr(
                "Two patients were registered with the same %(id)s on different workstations. "
                "Both are kept; until a person decides, the one from the other workstation has "
                "a temporary %(id)s here (ending in “~dup-…”). If they are the same person, "
                "merge the two records; if they are two people, correct the %(id)s of the one "
                "it is wrong for.").replace("%(id)s", self.label))
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
        if p.get("mrn"):
            box.addWidget(_label(self.tr("MRN %s") % p["mrn"], "muted"))
        if not self.is_mrn:
            box.addWidget(_label(f"{self.label} {self.value}", "muted"))
        who = str(p.get("name") or self.tr("this patient"))
        text = (self.tr("Two people — give %s a new MRN…") % who if self.is_mrn else
                self.tr("Two people — correct the %s of %s…") % (self.label, who))
        button = QPushButton(text)
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
            self.acted.emit("renumber" if self.is_mrn else "correct",
                            str(sender.property("patient_id")))


def duplicate_panel_for(group: ConflictGroup, zone: str | None) -> ConflictPanel | None:
    return PossibleDuplicatePanel(group, zone) if group.kind == KIND else None
