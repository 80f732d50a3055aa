"""The list of the conflicts window: one row per record that needs a person's choice.

Field conflicts of one record are grouped into one row (a person decides the record field by
field in one place); a double-booking, a refused change and a deletion are one row each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt

from ..widgets.item_table_model import Index, ItemTableModel
from .conflict_format import local_time

RESOURCE_NAMES = {
    "Patient": "Patient", "Appointment": "Appointment", "Practitioner": "Practitioner",
    "Observation": "Observation", "Composition": "Clinical note", "Encounter": "Consultation",
    "AllergyIntolerance": "Allergy", "Condition": "Problem", "MedicationStatement": "Medication",
    "DiagnosticReport": "Result", "Coverage": "Cover", "Invoice": "Invoice",
    "PaymentReconciliation": "Payment", "Consent": "Consent", "Flag": "Alert",
    "RelatedPerson": "Contact", "Organization": "Clinic", "Basic": "Record",
    "Schedule": "Working hours", "Slot": "Leave", "HealthcareService": "Appointment type",
    "ChargeItemDefinition": "Fee", "Linkage": "Patient merge",
}
KIND_TEXT = {
    "double-booking": "Double booking",
    "rejected": "Refused by the server",
    "unsendable": "Could not be sent",
    "deleted": "Deleted elsewhere",
    "signed": "Edited after signing",
    "merged": "Merged elsewhere",
    "unapplied": "Not stored here",
    "merge-ring": "Merged both ways",
    "possible-duplicate": "Possible duplicate",
}


@dataclass(frozen=True)
class ConflictGroup:
    id: str  # the first conflict's id
    kind: str
    resource_type: str
    resource_id: str
    subject: str | None
    conflicts: tuple[Any, ...]
    created_at: datetime

    @property
    def record(self) -> str:
        name = RESOURCE_NAMES.get(self.resource_type, self.resource_type)
        return f"{name} · {self.subject}" if self.subject else name

    @property
    def what(self) -> str:
        if self.kind == "field":
            n = len(self.conflicts)
            return f"Both changed · {n} field{'s' if n != 1 else ''}"
        return KIND_TEXT.get(self.kind, self.kind)


def group_conflicts(conflicts: Iterable[Any]) -> list[ConflictGroup]:
    groups: dict[tuple[str, ...], list[Any]] = {}
    for c in conflicts:
        key = (c.kind, c.resource_type, c.resource_id) if c.kind == "field" else (c.id,)
        groups.setdefault(key, []).append(c)
    out = [ConflictGroup(cs[0].id, cs[0].kind, cs[0].resource_type, cs[0].resource_id,
                         getattr(cs[0], "subject", None), tuple(cs),
                         min(c.created_at for c in cs)) for cs in groups.values()]
    return sorted(out, key=lambda g: g.created_at)


class ConflictTableModel(ItemTableModel):
    HEADERS = ("Record", "Conflict", "Since")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.zone: str | None = None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        group: ConflictGroup | None = self.item_at(index)
        if group is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            col = index.column()
            if col == 0:
                return group.record
            if col == 1:
                return self.tr(group.what)
            return local_time(group.created_at.isoformat(), self.zone, "%d %b %H:%M")
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{group.record}: {group.what}"
        return None
