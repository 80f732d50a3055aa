"""The right-hand side of the conflicts window: one panel per kind of conflict.

Each panel shows the record's two sides next to each other and emits ``chosen`` with
``{conflict id: choice}`` (the choices of ``SyncService.resolve_conflict``); the window saves
them off the GUI thread. Panels never query.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..theme import STATUS_LABELS
from .conflict_format import describe, field_name, local_time
from .conflict_table_model import ConflictGroup


def _label(text: str, name: str | None = None, *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class Choice(QWidget):
    """A radio button whose value wraps over several lines; clicking the text chooses it too."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__()
        self.radio = QRadioButton()
        self.radio.setObjectName(name)
        self.radio.setAccessibleName(text[:200])
        self.text = _label(text, wrap=True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.radio, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)

    def mouseReleaseEvent(self, event: Any) -> None:
        if self.isEnabled():
            self.radio.setChecked(True)
        super().mouseReleaseEvent(event)


class ConflictPanel(QWidget):
    chosen = Signal(dict)

    def __init__(self, group: ConflictGroup, zone: str | None, title: str | None = None) -> None:
        super().__init__()
        self.group, self.zone = group, zone
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(16, 12, 16, 12)
        self.layout_.setSpacing(10)
        self.layout_.addWidget(_label(title or group.record, "sectionTitle"))
        self.restricted = any(getattr(c, "restricted", False) for c in group.conflicts)

    def choice_button(self, text: str, choices: dict[str, str]) -> QPushButton:
        """A button that emits ``chosen`` with ``choices`` (no closure holds the panel)."""
        button = QPushButton(text)
        button.setProperty("choices", json.dumps(choices))
        button.clicked.connect(self._button_chosen)
        return button

    def _button_chosen(self) -> None:
        sender = self.sender()
        if sender is not None:
            self.chosen.emit(json.loads(str(sender.property("choices"))))

    def intro(self, text: str) -> None:
        note = _label(text)
        note.setProperty("muted", True)
        self.layout_.addWidget(note)

    def finish(self, *buttons: QPushButton, primary: QPushButton | None = None) -> None:
        if self.restricted:
            self.intro(self.tr("This record is clinical: a clinician resolves this conflict."))
            buttons = ()
            primary = None
        self.layout_.addStretch(1)
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        row.addStretch(1)
        if primary is not None:
            primary.setProperty("primary", True)
            row.addWidget(primary)
        self.layout_.addLayout(row)


class FieldConflictPanel(ConflictPanel):
    """Field by field: before, this workstation's value, the other value; pick one per field."""

    def __init__(self, group: ConflictGroup, zone: str | None) -> None:
        super().__init__(group, zone)
        self.intro(self.tr("This record was changed here and on another workstation before they "
                           "could sync. Nothing was overwritten: choose the value to keep for each "
                           "field. Until then this workstation keeps its own."))
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(8)
        for col, title in enumerate((self.tr("Field"), self.tr("Before"),
                                     self.tr("This workstation"), self.tr("Other workstation"))):
            head = _label(title, "muted")
            head.setStyleSheet("font-weight: 600;")
            grid.addWidget(head, 0, col)
        self.choices: dict[str, QButtonGroup] = {}
        self.radios: dict[str, tuple[QRadioButton, QRadioButton]] = {}
        self.cells: dict[str, tuple[Choice, Choice]] = {}
        for row, c in enumerate(self.group.conflicts, start=1):
            grid.addWidget(_label(field_name(c.field, c.label)), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(_label(words(c, "base"), "muted"), row, 1,
                           Qt.AlignmentFlag.AlignTop)
            buttons = QButtonGroup(self)
            pair, cells = [], []
            for col, choice in enumerate(("local", "remote"), start=2):
                cell = Choice(words(c, choice), f"choice-{choice}")
                cell.setDisabled(self.restricted)
                cell.radio.toggled.connect(self._update)
                buttons.addButton(cell.radio)
                buttons.setId(cell.radio, col)
                grid.addWidget(cell, row, col, Qt.AlignmentFlag.AlignTop)
                pair.append(cell.radio)
                cells.append(cell)
            self.choices[c.id] = buttons
            self.radios[c.id] = (pair[0], pair[1])
            self.cells[c.id] = (cells[0], cells[1])
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 3)
        grid.setColumnStretch(3, 3)
        frame = QFrame()
        frame.setObjectName("card")
        frame.setLayout(grid)
        self.layout_.addWidget(frame)
        self._list_note()
        self.mine = QPushButton(self.tr("Keep all mine"))
        self.mine.clicked.connect(self._all_mine)
        self.theirs = QPushButton(self.tr("Take all theirs"))
        self.theirs.clicked.connect(self._all_theirs)
        self.apply_button = QPushButton(self.tr("Apply choices"))
        self.apply_button.clicked.connect(self.apply)
        self.finish(self.mine, self.theirs, primary=self.apply_button)
        self._update()

    def _list_note(self) -> None:
        """Under the two sides, before anyone chooses: a list is taken whole, not merged."""
        names = list(dict.fromkeys(field_name(c.field, c.label) for c in self.group.conflicts
                                   if c.whole_list))
        if not names:
            return
        named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        note = _label(self.tr("{names}: the list you choose becomes this record's whole list; "
                              "an entry only in the other list is not kept.").format(names=named),
                      "listNote")
        note.setProperty("muted", True)
        self.layout_.addWidget(note)

    def _all_mine(self) -> None:
        self._all(0)

    def _all_theirs(self) -> None:
        self._all(1)

    def _all(self, side: int) -> None:
        for pair in self.radios.values():
            pair[side].setChecked(True)

    def _update(self, *_: Any) -> None:
        self.apply_button.setEnabled(all(g.checkedButton() is not None
                                         for g in self.choices.values()))

    def selection(self) -> dict[str, str]:
        return {cid: ("local" if g.checkedId() == 2 else "remote")
                for cid, g in self.choices.items() if g.checkedButton() is not None}

    def apply(self) -> None:
        if self.apply_button.isEnabled():
            self.chosen.emit(self.selection())


class DoubleBookingPanel(ConflictPanel):
    """Both appointments side by side: keep both (overbook) or cancel one of them."""

    def __init__(self, group: ConflictGroup, zone: str | None) -> None:
        c = group.conflicts[0]
        doctor = next((v.get("practitioner_name") for v in (c.local_value, c.remote_value)
                       if isinstance(v, dict) and v.get("practitioner_name")), None)
        super().__init__(group, zone, f"Double booking · {doctor}" if doctor else None)
        self.intro(self.tr("Two appointments for the same practitioner at the same time were "
                           "booked on different workstations. Keep both (an overbooking) or "
                           "cancel one; the patient of a cancelled appointment may need a call."))
        cards = QHBoxLayout()
        self.cancel_buttons: dict[str, QPushButton] = {}
        for side, value, title in (("local", c.local_value, self.tr("Booked here")),
                                   ("remote", c.remote_value,
                                    self.tr("Booked on another workstation"))):
            cards.addWidget(self._card(side, value if isinstance(value, dict) else {}, title))
        self.layout_.addLayout(cards)
        self.keep_both = self.choice_button(self.tr("Keep both"), {c.id: "keep-both"})
        self.finish(primary=self.keep_both)

    def _card(self, side: str, a: dict[str, Any], title: str) -> QFrame:
        frame = QFrame()
        frame.setObjectName("card")
        box = QVBoxLayout(frame)
        box.addWidget(_label(title, "muted"))
        start = local_time(a.get("start"), self.zone, "%a %d %b %Y, %H:%M")
        end = local_time(a.get("end"), self.zone, "%H:%M")
        when = _label(f"{start}–{end}" if start else self.tr("Time not known"))
        when.setStyleSheet("font-size: 12pt; font-weight: 600;")
        box.addWidget(when)
        box.addWidget(_label(a.get("patient_name") or self.tr("Patient record")))
        if a.get("practitioner_name"):
            box.addWidget(_label(self.tr("with %s") % a["practitioner_name"], "muted"))
        status = a.get("status") or ""
        box.addWidget(_label(self.tr("Status: %s") % STATUS_LABELS.get(status, status), "muted"))
        cid = self.group.conflicts[0].id
        cancel = self.choice_button(self.tr("Cancel this appointment"), {cid: f"cancel-{side}"})
        cancel.setProperty("danger", True)
        cancel.setObjectName(f"cancel-{side}")
        cancel.setDisabled(self.restricted)
        self.cancel_buttons[side] = cancel
        box.addWidget(cancel)
        return frame


class NoticePanel(ConflictPanel):
    """What a person can only take note of: a refused change (with the server's reason), a
    record deleted elsewhere, an edit a signed note could not take; read, then dismiss."""

    def __init__(self, group: ConflictGroup, zone: str | None) -> None:
        super().__init__(group, zone)
        c = group.conflicts[0]
        if group.kind == "signed":
            self.intro(self.tr("This note was signed while it was being edited elsewhere. A signed "
                               "note does not change: the signed text stands, and the other "
                               "edit is shown here so that it can go into an addendum."))
            self._sides(c)
        elif group.kind == "merged":
            self.intro(self.tr("This patient was merged into another record on another "
                               "workstation while it was being changed here. Apply the change "
                               "made here to the record it was merged into, or dismiss it."))
            self._sides(c)
            self.survivor_button = self.choice_button(self.tr("Apply to the merged record"),
                                                      {c.id: "apply-to-survivor"})
        elif group.kind == "merge-ring":
            self.intro(self.tr("Two workstations merged this patient's two records into each "
                               "other. Sync kept this record, holding everything of both; the "
                               "other is merged into it. If the other record should have been "
                               "kept, undo that merge from this patient's merges."))
        elif group.kind == "unapplied":
            self.intro(self.tr("A change from another workstation could not be stored on this "
                               "one. Nothing else waits for it; it is tried again at every sync, "
                               "and this message goes once it is stored."))
            reason = json.loads(c.detail or "{}").get("reason") if c.detail else None
            self.layout_.addWidget(_label(reason or self.tr("No reason was given."),
                                          "fieldError"))
        elif group.kind not in ("rejected", "unsendable", "deleted"):
            self.intro(self.tr("Sync kept both versions of this record for a person to see."))
            self._sides(c)
        elif group.kind in ("rejected", "unsendable"):
            if group.kind == "rejected":
                self.intro(self.tr("The sync server refused this change, so the other "
                                   "workstations do not have it. It stays on this workstation. "
                                   "Correct the record and save it again, or dismiss this "
                                   "message."))
            else:
                self.intro(self.tr("This change could not be prepared for sending, so it was not "
                                   "sent and the other workstations do not have it. It stays on "
                                   "this workstation, and the changes after it were sent. Correct "
                                   "the record and save it again (if that does not help, tell "
                                   "your support contact), or dismiss this message."))
            reason = _label(c.detail or self.tr("No reason was given."), "fieldError")
            reason.setObjectName("refusalReason")
            reason.setStyleSheet("background: #fdecea; border: 1px solid #f4b6b0; "
                                 "border-radius: 4px; padding: 8px; color: #b3261e;")
            self.layout_.addWidget(_label(self.tr("The server's reason:") if group.kind ==
                                          "rejected" else self.tr("Why:"), "muted"))
            self.layout_.addWidget(reason)
        else:
            self.intro(self.tr("This record was deleted on another workstation while it was being "
                               "changed here. The deletion stands; the changes made here are "
                               "shown below for reference."))
            self.layout_.addWidget(_label(describe(c.local_value)[:600], "muted"))
        self.dismiss_button = self.choice_button(self.tr("Dismiss"), {c.id: "dismiss"})
        if group.kind == "merged":
            self.finish(self.dismiss_button, primary=self.survivor_button)
        else:
            self.finish(primary=self.dismiss_button)


    def _sides(self, c: Any) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.addWidget(_label(field_name(c.field, c.label), "muted"), 0, 0, 1, 2)
        for col, (title, side) in enumerate(((self.tr("This workstation"), "local"),
                                             (self.tr("Other workstation"), "remote"))):
            head = _label(title, "muted")
            head.setStyleSheet("font-weight: 600;")
            grid.addWidget(head, 1, col)
            grid.addWidget(_label(words(c, side)[:1200]), 2, col)
        frame = QFrame()
        frame.setObjectName("card")
        frame.setLayout(grid)
        self.layout_.addWidget(frame)


def words(c: Any, side: str) -> str:
    """A conflict's value in words: the service's wording (an address, a phone number, a note's
    text, a time in the clinic's zone) where it gives one, else our own."""
    return getattr(c, f"{side}_text", "") or describe(getattr(c, f"{side}_value"))


def panel_for(group: ConflictGroup, zone: str | None) -> ConflictPanel:
    if group.kind == "field":
        return FieldConflictPanel(group, zone)
    if group.kind == "double-booking":
        return DoubleBookingPanel(group, zone)
    return NoticePanel(group, zone)
